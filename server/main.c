/*
 * resumate-server: configuration, the listening socket, the HTTP daemon and graceful shutdown.
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish (bounded by SHUTDOWN_GRACE), run
 * the queued worker jobs, close the storage, exit 0.
 */
#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char PROG[] = "resumate-server";

static int open_listener(const struct srv_config *cfg, int *port_out)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    int rc = getaddrinfo(cfg->bind_addr, port, &hints, &res);
    if (rc) {
        fprintf(stderr, "%s: --bind %s: not a numeric IPv4 or IPv6 address (%s)\n", PROG, cfg->bind_addr,
                gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot create a socket: %s\n", PROG, strerror(errno));
        freeaddrinfo(res);
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1024)) {
        fprintf(stderr, "%s: cannot listen on %s:%d: %s\n", PROG, cfg->bind_addr, cfg->port, strerror(errno));
        close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *port_out = cfg->port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            *port_out = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *port_out = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

int main(int argc, char **argv)
{
    struct srv_config cfg;
    int rc = srv_config_load(&cfg, argc, argv, 0);
    if (rc == 2)
        srv_routes_print();
    if (rc) {
        srv_config_free(&cfg);
        return rc > 0 ? 0 : 2;
    }
    if (srv_config_prepare_storage(&cfg, PROG, 1)) {
        srv_config_free(&cfg);
        return 1;
    }

    /* Every thread created from here on inherits the blocked signals; main waits for them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int port = 0;
    int fd = open_listener(&cfg, &port);
    if (fd < 0) {
        srv_config_free(&cfg);
        return 1;
    }
    struct srv s;
    memset(&s, 0, sizeof s);
    s.cfg = &cfg;
    pthread_mutex_init(&s.models_cache.lock, NULL);
    pthread_mutex_init(&s.examples_cache.lock, NULL);
    if (srv_open_ctx(&s.ctx, &cfg, PROG)) {
        close(fd);
        srv_config_free(&cfg);
        return 1;
    }
    s.openapi_json = srv_openapi_build(&s.openapi_len);
    srv_throttle_init();
    if (!s.openapi_json || srv_pool_start(cfg.workers, cfg.hash_queue_max)) {
        fprintf(stderr, "%s: out of memory or threads at start-up\n", PROG);
        rm_ctx_free(s.ctx);
        close(fd);
        srv_config_free(&cfg);
        return 1;
    }
    if (srv_start(&s, fd)) {
        fprintf(stderr, "%s: cannot start the HTTP daemon (libmicrohttpd) on %s:%d\n", PROG, cfg.bind_addr, port);
        srv_pool_stop();
        rm_ctx_free(s.ctx);
        close(fd);
        srv_config_free(&cfg);
        return 1;
    }
    fprintf(stderr, "%s: listening on http://%s%s%s:%d (%d HTTP threads, %d workers; Redis %s)\n", PROG,
            strchr(cfg.bind_addr, ':') ? "[" : "", cfg.bind_addr, strchr(cfg.bind_addr, ':') ? "]" : "", port,
            cfg.threads, cfg.workers, cfg.redis_host ? "configured but not used yet" : "not used");

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0)
        ;
    fprintf(stderr, "{\"event\":\"shutdown\",\"signal\":\"%s\",\"in_flight\":%ld}\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
            atomic_load(&s.in_flight));

    /* Stop accepting; let what was received finish, within the grace period. */
    srv_quiesce(&s);
    struct timespec nap = { 0, 10 * 1000 * 1000 };
    int64_t deadline = srv_now_ns() + (int64_t)(cfg.shutdown_grace * 1e9);
    while ((atomic_load(&s.in_flight) > 0 || srv_pool_pending() > 0) && srv_now_ns() < deadline)
        nanosleep(&nap, NULL);
    long left = atomic_load(&s.in_flight);
    /* Generations still running past the grace period are cancelled (nothing is saved for them);
     * their connections resume with 503 before the daemon stops. */
    srv_generate_cancel_all();
    deadline = srv_now_ns() + 2000000000LL;
    while (atomic_load(&s.in_flight) > 0 && srv_now_ns() < deadline)
        nanosleep(&nap, NULL);
    /* Queued jobs still run (they resume their connections) before the daemon stops. */
    srv_pool_stop();
    srv_stop(&s);
    close(fd);
    rm_ctx_free(s.ctx);
    free(s.openapi_json);
    srv_blob_unref(s.models_cache.blob);
    srv_blob_unref(s.examples_cache.blob);
    fprintf(stderr, "{\"event\":\"stopped\",\"unfinished_requests\":%ld}\n", left);
    srv_config_free(&cfg);
    return 0;
}
