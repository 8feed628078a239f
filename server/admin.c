/*
 * resumate-admin: command-line administration against the same database as resumate-server
 * (DATABASE_URL or DB_*): create a superuser, manage AI models, seed the examples.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char PROG[] = "resumate-admin";

static void print_error(const char *what, int rc)
{
    const rm_error *e = rm_error_last();
    fprintf(stderr, "%s: %s failed: %s", PROG, what, rm_status_name(rc));
    if (rm_error_field_count(e) > 0) {
        char *json = NULL;
        if (rm_error_fields_json(&json, e) == RM_OK)
            fprintf(stderr, " %s", json);
        rm_free(json);
    } else if (rm_error_message(e)[0]) {
        fprintf(stderr, " (%s)", rm_error_message(e));
    }
    fputc('\n', stderr);
}

static int is_bool_field(const char *name)
{
    return strcmp(name, "is_active") == 0 || strcmp(name, "login_required") == 0;
}

/* FIELD=VALUE arguments into a field set: booleans and daily_limit are typed, the rest strings. */
static int parse_assignments(rm_fields **out, int argc, char **argv)
{
    if (rm_fields_new(out))
        return -1;
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "%s: expected FIELD=VALUE, got '%s'\n", PROG, argv[i]);
            return -1;
        }
        *eq = '\0';
        const char *name = argv[i], *value = eq + 1;
        if (is_bool_field(name)) {
            int v = strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0 || strcasecmp(value, "yes") == 0;
            if (!v && strcasecmp(value, "false") != 0 && strcmp(value, "0") != 0 && strcasecmp(value, "no") != 0) {
                fprintf(stderr, "%s: %s must be true or false, got '%s'\n", PROG, name, value);
                return -1;
            }
            rm_fields_set_bool(*out, name, v);
        } else if (strcmp(name, "daily_limit") == 0) {
            char *end;
            long long v = strtoll(value, &end, 10);
            if (!*value || *end) {
                fprintf(stderr, "%s: daily_limit must be an integer, got '%s'\n", PROG, value);
                return -1;
            }
            rm_fields_set_int(*out, name, v);
        } else {
            rm_fields_set_string(*out, name, value);
        }
    }
    return 0;
}

static int cmd_models_list(rm_ctx *ctx)
{
    rm_ai_model_page *page = NULL;
    int rc = rm_ai_model_list(&page, ctx, 1);
    if (rc) {
        print_error("listing models", rc);
        return 1;
    }
    printf("%-20s %-18s %-32s %-7s %-6s %-6s %s\n", "display_name", "api_provider", "model_name", "active", "login",
           "limit", "api_key_name");
    for (size_t i = 0; i < rm_ai_model_page_count(page); i++) {
        const rm_ai_model *m = rm_ai_model_page_at(page, i);
        printf("%-20s %-18s %-32s %-7s %-6s %-6d %s\n", rm_ai_model_display_name(m), rm_ai_model_api_provider(m),
               rm_ai_model_model_name(m), rm_ai_model_is_active(m) ? "yes" : "no",
               rm_ai_model_login_required(m) ? "yes" : "no", (int)rm_ai_model_daily_limit(m),
               rm_ai_model_api_key_name(m));
    }
    rm_ai_model_page_free(page);
    return 0;
}

static int cmd_models(rm_ctx *ctx, int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr, "%s: models needs list, create, update or deactivate\n", PROG);
        return 2;
    }
    if (strcmp(argv[0], "list") == 0)
        return cmd_models_list(ctx);
    rm_fields *f = NULL;
    int rc;
    if (strcmp(argv[0], "create") == 0) {
        if (parse_assignments(&f, argc - 1, argv + 1)) {
            rm_fields_free(f);
            return 2;
        }
        rc = rm_ai_model_create(NULL, ctx, f);
        rm_fields_free(f);
        if (rc) {
            print_error("creating the model", rc);
            return 1;
        }
        printf("created\n");
        return 0;
    }
    if (strcmp(argv[0], "update") == 0 && argc >= 2) {
        if (parse_assignments(&f, argc - 2, argv + 2)) {
            rm_fields_free(f);
            return 2;
        }
        rc = rm_ai_model_update(NULL, ctx, argv[1], f);
        rm_fields_free(f);
        if (rc) {
            print_error("updating the model", rc);
            return 1;
        }
        printf("updated\n");
        return 0;
    }
    if (strcmp(argv[0], "deactivate") == 0 && argc == 2) {
        rc = rm_ai_model_deactivate(ctx, argv[1]);
        if (rc) {
            print_error("deactivating the model", rc);
            return 1;
        }
        printf("deactivated\n");
        return 0;
    }
    fprintf(stderr, "%s: unknown models command (try --help)\n", PROG);
    return 2;
}

static int cmd_createsuperuser(rm_ctx *ctx, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "%s: createsuperuser needs USERNAME EMAIL\n", PROG);
        return 2;
    }
    char buf[1024];
    const char *env_pw = getenv("RESUMATE_ADMIN_PASSWORD");
    if (env_pw && *env_pw) {
        snprintf(buf, sizeof buf, "%s", env_pw);
    } else {
        if (!fgets(buf, sizeof buf, stdin)) {
            fprintf(stderr, "%s: no password given (RESUMATE_ADMIN_PASSWORD or one line on stdin)\n", PROG);
            return 2;
        }
        buf[strcspn(buf, "\r\n")] = '\0';
    }
    if (!buf[0]) {
        fprintf(stderr, "%s: the password may not be empty\n", PROG);
        return 2;
    }
    rm_user *u = NULL;
    int rc = rm_user_create(&u, ctx, argv[0], argv[1], buf, RM_USER_SUPERUSER | RM_USER_STAFF);
    explicit_bzero(buf, sizeof buf);
    if (rc) {
        print_error("creating the superuser", rc);
        return 1;
    }
    printf("superuser %s created (id %lld)\n", rm_user_username(u), (long long)rm_user_id(u));
    rm_user_free(u);
    return 0;
}

int main(int argc, char **argv)
{
    struct srv_config cfg;
    int rc = srv_config_load(&cfg, argc, argv, 1);
    if (rc) {
        srv_config_free(&cfg);
        return rc > 0 ? 0 : 2;
    }
    if (srv_config_prepare_storage(&cfg, PROG, 0)) {
        srv_config_free(&cfg);
        return 1;
    }
    rm_ctx *ctx = NULL;
    if (srv_open_ctx(&ctx, &cfg, PROG)) {
        srv_config_free(&cfg);
        return 1;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "createsuperuser") == 0) {
        rc = cmd_createsuperuser(ctx, argc - 2, argv + 2);
    } else if (strcmp(cmd, "models") == 0) {
        rc = cmd_models(ctx, argc - 2, argv + 2);
    } else if (strcmp(cmd, "seed") == 0) {
        int created = 0;
        rc = rm_example_seed(ctx, &created);
        if (rc) {
            print_error("seeding the examples", rc);
            rc = 1;
        } else {
            printf("examples created: %d\n", created);
        }
    } else {
        fprintf(stderr, "%s: unknown command '%s' (try --help)\n", PROG, cmd);
        rc = 2;
    }
    rm_ctx_free(ctx);
    srv_config_free(&cfg);
    return rc;
}
