/*
 * resumate-admin: command-line administration against the same database as resumate-server
 * (DATABASE_URL or DB_*): create a superuser, manage AI models, seed the examples; and `copy`, which
 * copies a whole database between any two storage URLs (SQLite <-> PostgreSQL), keeping ids.
 */
#include "server.h"

#include <resumate/copy.h>

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

static const char COPY_USAGE[] =
    "Usage: resumate-admin copy --from URL --to URL\n"
    "\n"
    "Copy a whole database into an empty one, keeping every id: users (password hashes and token\n"
    "validity included), resumes, job applications (deleted ones and examples included), AI models\n"
    "(base_url included), the token denylist, daily usage counts and idempotency keys. Users log in\n"
    "with the same passwords and tokens issued before still verify (same SECRET_KEY) afterwards.\n"
    "\n"
    "  --from URL   the source: sqlite:///relative/path, sqlite:////absolute/path, a file path, or\n"
    "               postgres://user:password@host:port/dbname (only read)\n"
    "  --to URL     the target, same forms; created (schema included) if missing; it must be empty,\n"
    "               otherwise nothing is copied and the exit status is 1\n"
    "\n"
    "Stop resumate-server (or keep it from writing) during the copy. On a failure part way, the\n"
    "target holds the rows copied so far: empty it and run again.\n"
    "DATABASE_URL and DB_* are not used by this command.\n";

/* The scheme of a URL (never the rest, which may hold a password), for messages. */
static const char *url_kind(const char *url)
{
    if (srv_url_is_postgres(url))
        return "PostgreSQL";
    return "SQLite";
}

static int cmd_copy(int argc, char **argv)
{
    const char *from = NULL, *to = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(COPY_USAGE, stdout);
            return 0;
        } else if (strcmp(a, "--from") == 0 && val) {
            from = val;
            i++;
        } else if (strcmp(a, "--to") == 0 && val) {
            to = val;
            i++;
        } else {
            fprintf(stderr, "%s: copy: unexpected argument '%s' (try copy --help)\n", PROG,
                    strncmp(a, "--", 2) == 0 ? a : "(a value)");
            return 2;
        }
    }
    if (!from || !to || !*from || !*to) {
        fprintf(stderr, "%s: copy needs --from URL and --to URL (try copy --help)\n", PROG);
        return 2;
    }
    if (strcmp(from, to) == 0) {
        fprintf(stderr, "%s: copy: --from and --to are the same database\n", PROG);
        return 2;
    }
    rm_storage *src = NULL, *dst = NULL;
    int rc = rm_storage_open(&src, from);
    if (rc) {
        print_error("opening the source database", rc);
        return 1;
    }
    if ((rc = rm_storage_open(&dst, to)) != RM_OK) {
        print_error("opening the target database", rc);
        rm_storage_free(src);
        return 1;
    }
    rm_copy_stats st;
    rc = rm_storage_copy(dst, src, &st);
    if (rc)
        print_error("copying", rc);
    printf("%s %s -> %s: %lld users, %lld AI models, %lld resumes, %lld applications, %lld denylisted tokens, "
           "%lld usage counts, %lld idempotency keys\n",
           rc == RM_OK ? "copied" : st.users + st.ai_models + st.resumes + st.applications + st.denied_tokens +
                                            st.usage_counts + st.idempotency_keys > 0 ? "partly copied" : "not copied",
           url_kind(from), url_kind(to), (long long)st.users,
           (long long)st.ai_models, (long long)st.resumes, (long long)st.applications, (long long)st.denied_tokens,
           (long long)st.usage_counts, (long long)st.idempotency_keys);
    rm_storage_free(dst);
    rm_storage_free(src);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    /* copy names both databases itself, so it runs before (and without) the DATABASE_URL setup. */
    if (argc >= 2 && strcmp(argv[1], "copy") == 0)
        return cmd_copy(argc - 2, argv + 2);
    struct srv_config cfg;
    int rc = srv_config_load(&cfg, argc, argv, 1);
    if (rc) {
        srv_config_free(&cfg);
        if (rc > 0) /* --help: the shared text above, then the command this file adds */
            fputs("\nAlso:\n  copy --from URL --to URL         copy a whole database into an empty one, keeping ids\n"
                  "                                   (SQLite <-> PostgreSQL); see copy --help\n",
                  stdout);
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
