/* Start tests/ai/fake_provider.py on 127.0.0.1 and drive its control endpoints with plain libcurl.
 * Header-only so that every tests/ai/test_*.c executable can include it. */
#ifndef RM_TEST_AI_FAKE_H
#define RM_TEST_AI_FAKE_H

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    pid_t pid;
    int port;
    char base[64];
} fake_server;

static fake_server fake;

static void fake_start(void)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", RM_SOURCE_DIR "/tests/ai/fake_provider.py", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    int port = 0;
    cr_assert(f && fscanf(f, "PORT %d", &port) == 1, "the fake provider did not start");
    fclose(f);
    fake.pid = pid;
    fake.port = port;
    snprintf(fake.base, sizeof(fake.base), "http://127.0.0.1:%d", port);
}

static void fake_stop(void)
{
    if (fake.pid > 0) {
        kill(fake.pid, SIGTERM);
        waitpid(fake.pid, NULL, 0);
        fake.pid = 0;
    }
}

typedef struct {
    char *data;
    size_t len;
} fake_buf;

static size_t fake_write(char *p, size_t s, size_t n, void *ud)
{
    fake_buf *b = ud;
    b->data = realloc(b->data, b->len + s * n + 1);
    memcpy(b->data + b->len, p, s * n);
    b->len += s * n;
    b->data[b->len] = '\0';
    return s * n;
}

/* POST (body non-NULL) or GET a control path; returns the parsed JSON answer (caller decrefs). */
static json_t *fake_control(const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", fake.base, path);
    CURL *c = curl_easy_init();
    fake_buf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fake_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    cr_assert_eq(rc, CURLE_OK, "control request %s failed", path);
    json_t *j = json_loads(b.data ? b.data : "null", 0, NULL);
    free(b.data);
    return j;
}

/* Queue steps (a JSON array text) for a model ("*" for any). */
static void fake_script(const char *model, const char *steps_json)
{
    char *body = NULL;
    size_t n = strlen(steps_json) + strlen(model) + 64;
    body = malloc(n);
    snprintf(body, n, "{\"model\": \"%s\", \"steps\": %s}", model, steps_json);
    json_decref(fake_control("/_control/script", body));
    free(body);
}

static void fake_default(const char *step_json) { json_decref(fake_control("/_control/default", step_json)); }

/* The request log (array). */
static json_t *fake_log(void) { return fake_control("/_control/log", NULL); }

static size_t fake_count(void)
{
    json_t *l = fake_log();
    size_t n = json_array_size(l);
    json_decref(l);
    return n;
}

/* Wait (bounded) until the log has at least n entries. */
static bool fake_wait_count(size_t n)
{
    for (int i = 0; i < 200; i++) {
        if (fake_count() >= n)
            return true;
        usleep(20000);
    }
    return false;
}

#endif
