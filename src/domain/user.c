/* Users: registration with Django's rules, authentication, system users, principals. */
#include "internal.h"
#include "../auth/internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static void user_release(rm_user *u)
{
    free((char *)u->r.username);
    free((char *)u->r.email);
    if (u->r.password) {
        OPENSSL_cleanse((char *)u->r.password, strlen((char *)u->r.password));
        free((char *)u->r.password);
    }
    free((char *)u->r.first_name);
    free((char *)u->r.last_name);
}

void rm_user_free(rm_user *u)
{
    if (!u)
        return;
    user_release(u);
    free(u);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

int rm__user_copy(rm_user **out, const rm_user_record *rec)
{
    rm_user *u = calloc(1, sizeof(*u));
    if (!u)
        return rm__error_nomem();
    u->r = *rec;
    u->r.username = dup_or_empty(rec->username);
    u->r.email = dup_or_empty(rec->email);
    u->r.password = dup_or_empty(rec->password);
    u->r.first_name = dup_or_empty(rec->first_name);
    u->r.last_name = dup_or_empty(rec->last_name);
    if (!u->r.username || !u->r.email || !u->r.password || !u->r.first_name || !u->r.last_name) {
        rm_user_free(u);
        return rm__error_nomem();
    }
    *out = u;
    return RM_OK;
}

static int user_sink(void *data, const rm_user_record *rec) { return rm__user_copy(data, rec); }

static int fetch_user(rm_user **out, rm_ctx *ctx, int64_t id, const char *username)
{
    *out = NULL;
    int rc = RM__STORE(ctx, user_get, id, username, user_sink, out);
    if (rc == RM_OK && !*out)
        rc = RM_ENOTFOUND;
    if (rc) {
        rm_user_free(*out);
        *out = NULL;
        return rm__storage_status(rc);
    }
    return RM_OK;
}

int rm_user_get(rm_user **out, rm_ctx *ctx, int64_t id)
{
    if (!out || !ctx)
        return rm__error_misuse("out and ctx are required");
    *out = NULL;
    if (id <= 0)
        return rm__not_found();
    return fetch_user(out, ctx, id, NULL);
}

int rm_user_get_by_username(rm_user **out, rm_ctx *ctx, const char *username)
{
    if (!out || !ctx || !username)
        return rm__error_misuse("out, ctx and username are required");
    *out = NULL;
    return fetch_user(out, ctx, 0, username);
}

/* Insert a user record built from validated parts. */
static int insert_user(rm_user **out, rm_ctx *ctx, rm_user_record *rec)
{
    int64_t id = 0;
    int rc = RM__STORE(ctx, user_insert, rec, &id);
    if (rc == RM_ECONFLICT)
        return rm__error_field("username", "A user with that username already exists.");
    if (rc)
        return rm__storage_status(rc);
    rec->id = id;
    return out ? rm__user_copy(out, rec) : RM_OK;
}

/* Lookups that expect "not found" (is the name free? does the system user exist yet?) must not leave
 * the backend's RM_ENOTFOUND as the thread's last error of a call that succeeds: save it first, and put
 * it back when the lookup's answer was an expected one. */
static rm_error *error_save(void)
{
    rm_error *e = NULL;
    return rm_error_copy(&e, rm_error_last()) == RM_OK ? e : NULL;
}

static void error_restore(rm_error *saved)
{
    if (!saved)
        return;
    int code = rm_error_code(saved);
    rm__ferr *fe = code == RM_EINVALID && rm_error_field_count(saved) ? rm__ferr_new() : NULL;
    if (code == RM_OK) {
        rm_error_clear();
    } else if (fe) {
        for (size_t i = 0; i < rm_error_field_count(saved); i++)
            for (size_t j = 0; j < rm_error_field_message_count(saved, i); j++)
                rm__ferr_add(fe, rm_error_field_name(saved, i), rm_error_field_message(saved, i, j));
        rm__error_fields(fe, rm_error_message(saved));
    } else {
        rm__error_set_reason(code, rm_error_reason(saved), "%s", rm_error_message(saved));
    }
    if (code != RM_OK)
        rm__error_set_retry_after(rm_error_retry_after(saved));
    rm_error_free(saved);
}

static int username_taken(rm_ctx *ctx, const char *username, bool *taken)
{
    rm_user *u = NULL;
    rm_error *saved = error_save();
    int rc = RM__STORE(ctx, user_get, 0, username, user_sink, &u);
    *taken = rc == RM_OK && u;
    rm_user_free(u);
    if (rc == RM_ENOTFOUND || rc == RM_OK) {
        error_restore(saved);
        return RM_OK;
    }
    rm_error_free(saved);
    return rm__storage_status(rc);
}

int rm_user_register(rm_user **out, rm_ctx *ctx, const rm_fields *fields)
{
    if (out)
        *out = NULL;
    if (!ctx || !fields)
        return rm__error_misuse("ctx and fields are required");
    rm__ferr *fe = rm__ferr_new();
    if (!fe)
        return rm__error_nomem();
    char *username = NULL, *email = NULL, *password = NULL, *password2 = NULL, *hash = NULL;
    int rc;
    const rm__charspec uspec = {.required = true, .trim = true};
    const rm__charspec espec = {.required = true, .trim = true};
    const rm__charspec pspec = {.required = true, .trim = false};

    if (rm__field_char(fe, fields, "username", &uspec, &username) > 0) {
        size_t before = rm__ferr_has(fe, "username");
        rm__validate_username(fe, "username", username);
        if (!before && !rm__ferr_has(fe, "username")) {
            bool taken;
            if ((rc = username_taken(ctx, username, &taken)))
                goto done;
            if (taken)
                rm__ferr_add(fe, "username", "A user with that username already exists.");
        }
    }
    if (rm__field_char(fe, fields, "email", &espec, &email) > 0)
        rm__validate_email(fe, "email", email);
    if (rm__field_char(fe, fields, "password", &pspec, &password) > 0)
        rm__validate_password(fe, "password", password, username, email);
    rm__field_char(fe, fields, "password2", &pspec, &password2);

    if (!rm__ferr_empty(fe)) {
        rc = rm__error_fields(fe, "Registration data is invalid.");
        fe = NULL;
        goto done;
    }
    if (strcmp(password, password2) != 0) {
        rm__ferr_add(fe, "password", "Password fields didn't match.");
        rc = rm__error_fields(fe, "Registration data is invalid.");
        fe = NULL;
        goto done;
    }
    if ((rc = rm__password_hash(&hash, password, ctx->password_iterations)))
        goto done;
    int64_t now = rm_ctx_now(ctx);
    rm_user_record rec = {.username = username, .email = email, .password = hash, .first_name = "", .last_name = "",
                          .is_active = 1, .date_joined = now, .last_login = RM_NO_TIME, .tokens_valid_after = RM_NO_TIME};
    rc = insert_user(out, ctx, &rec);
done:
    rm__ferr_free(fe);
    free(username);
    free(email);
    if (password)
        OPENSSL_cleanse(password, strlen(password));
    if (password2)
        OPENSSL_cleanse(password2, strlen(password2));
    free(password);
    free(password2);
    free(hash);
    return rc;
}

int rm_user_create(rm_user **out, rm_ctx *ctx, const char *username, const char *email, const char *password,
                   unsigned int flags)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return rm__error_misuse("ctx is required");
    rm__ferr *fe = rm__ferr_new();
    if (!fe)
        return rm__error_nomem();
    if (!username || !username[0])
        rm__ferr_add(fe, "username", username ? "This field may not be blank." : "This field is required.");
    else if (!rm__utf8_valid(username, strlen(username)))
        rm__ferr_add(fe, "username", "Invalid UTF-8 text.");
    else
        rm__validate_username(fe, "username", username);
    if (email && email[0]) {
        if (!rm__utf8_valid(email, strlen(email)))
            rm__ferr_add(fe, "email", "Invalid UTF-8 text.");
        else
            rm__validate_email(fe, "email", email);
    }
    if (password && !rm__utf8_valid(password, strlen(password)))
        rm__ferr_add(fe, "password", "Invalid UTF-8 text.");
    if (!rm__ferr_empty(fe))
        return rm__error_fields(fe, "User data is invalid.");
    rm__ferr_free(fe);

    char *hash = NULL;
    int rc = password && password[0] ? rm__password_hash(&hash, password, ctx->password_iterations)
                                     : ((hash = rm__password_unusable()) ? RM_OK : rm__error_nomem());
    if (rc)
        return rc;
    rm_user_record rec = {.username = username, .email = email ? email : "", .password = hash, .first_name = "",
                          .last_name = "", .is_active = !(flags & RM_USER_INACTIVE),
                          .is_staff = (flags & (RM_USER_STAFF | RM_USER_SUPERUSER)) != 0,
                          .is_superuser = (flags & RM_USER_SUPERUSER) != 0, .date_joined = rm_ctx_now(ctx),
                          .last_login = RM_NO_TIME, .tokens_valid_after = RM_NO_TIME};
    rc = insert_user(out, ctx, &rec);
    free(hash);
    return rc;
}

int rm_user_authenticate(rm_principal **out, rm_ctx *ctx, const char *username, const char *password)
{
    if (out)
        *out = NULL;
    if (!out || !ctx)
        return rm__error_misuse("out and ctx are required");
    rm__ferr *fe = rm__ferr_new();
    if (!fe)
        return rm__error_nomem();
    if (!username || !username[0])
        rm__ferr_add(fe, "username", username ? "This field may not be blank." : "This field is required.");
    if (!password || !password[0])
        rm__ferr_add(fe, "password", password ? "This field may not be blank." : "This field is required.");
    if (!rm__ferr_empty(fe))
        return rm__error_fields(fe, "Credentials are missing.");
    rm__ferr_free(fe);

    /* simplejwt's username field is a DRF CharField, which trims; its password field does not. */
    char *name = rm__strip_dup(username);
    if (!name)
        return rm__error_nomem();
    if (!name[0]) {
        free(name);
        return rm__error_field("username", "This field may not be blank.");
    }
    rm_user *u = NULL;
    int rc = RM__STORE(ctx, user_get, 0, name, user_sink, &u);
    free(name);
    if (rc != RM_OK && rc != RM_ENOTFOUND)
        return rm__storage_status(rc);
    bool ok;
    if (!u) {
        rm__password_dummy_verify(password, ctx->password_iterations);
        ok = false;
    } else {
        ok = rm__password_verify(password, u->r.password) && u->r.is_active;
    }
    if (ok)
        rc = rm__principal_from_record(out, &u->r);
    else
        rc = rm__error_set(RM_EAUTH, "No active account found with the given credentials");
    rm_user_free(u);
    return rc;
}

/* Update the user with id, applying fn to its record. */
static int modify_user(rm_ctx *ctx, int64_t id, int (*fn)(rm_ctx *, rm_user_record *, void *), void *arg)
{
    rm_user *u = NULL;
    int rc = rm_user_get(&u, ctx, id);
    if (rc)
        return rc;
    rc = fn(ctx, &u->r, arg);
    if (rc == RM_OK) {
        rc = RM__STORE(ctx, user_update, &u->r);
        if (rc)
            rc = rm__storage_status(rc);
    }
    rm_user_free(u);
    return rc;
}

static int apply_password(rm_ctx *ctx, rm_user_record *r, void *arg)
{
    char *hash = NULL;
    int rc = rm__password_hash(&hash, arg, ctx->password_iterations);
    if (rc)
        return rc;
    OPENSSL_cleanse((char *)r->password, strlen((char *)r->password));
    free((char *)r->password);
    r->password = hash;
    r->tokens_valid_after = rm_ctx_now(ctx);
    return RM_OK;
}

int rm_user_set_password(rm_ctx *ctx, int64_t user_id, const char *new_password)
{
    if (!ctx || !new_password)
        return rm__error_misuse("ctx and new_password are required");
    if (!rm__utf8_valid(new_password, strlen(new_password)))
        return rm__error_field("password", "Invalid UTF-8 text.");
    rm_user *u = NULL;
    int rc = rm_user_get(&u, ctx, user_id);
    if (rc)
        return rc;
    rm__ferr *fe = rm__ferr_new();
    if (!fe) {
        rm_user_free(u);
        return rm__error_nomem();
    }
    if (!new_password[0])
        rm__ferr_add(fe, "password", "This field may not be blank.");
    else
        rm__validate_password(fe, "password", new_password, u->r.username, u->r.email);
    rm_user_free(u);
    if (!rm__ferr_empty(fe))
        return rm__error_fields(fe, "The new password is invalid.");
    rm__ferr_free(fe);
    return modify_user(ctx, user_id, apply_password, (void *)new_password);
}

static int apply_deactivate(rm_ctx *ctx, rm_user_record *r, void *arg)
{
    (void)arg;
    r->is_active = 0;
    r->tokens_valid_after = rm_ctx_now(ctx);
    return RM_OK;
}

int rm_user_deactivate(rm_ctx *ctx, int64_t user_id)
{
    if (!ctx)
        return rm__error_misuse("ctx is required");
    return modify_user(ctx, user_id, apply_deactivate, NULL);
}

int rm__system_user(rm_ctx *ctx, const char *username, int64_t *cache, int64_t *id_out)
{
    int64_t id = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
    if (id) {
        *id_out = id;
        return RM_OK;
    }
    pthread_mutex_lock(&ctx->lock);
    rm_user *u = NULL;
    rm_error *saved = error_save();
    int rc = RM__STORE(ctx, user_get, 0, username, user_sink, &u);
    if (rc == RM_ENOTFOUND || (rc == RM_OK && !u)) {
        char *hash = rm__password_unusable();
        rm_user_record rec = {.username = username, .email = "", .password = hash, .first_name = "", .last_name = "",
                              .is_active = 0, .date_joined = rm_ctx_now(ctx), .last_login = RM_NO_TIME,
                              .tokens_valid_after = RM_NO_TIME};
        rc = hash ? RM__STORE(ctx, user_insert, &rec, &id) : rm__error_nomem();
        free(hash);
        if (rc == RM_ECONFLICT) /* another process made it first */
            rc = RM__STORE(ctx, user_get, 0, username, user_sink, &u);
    }
    if (rc == RM_OK && u)
        id = u->r.id;
    rm_user_free(u);
    if (rc == RM_OK && id > 0)
        __atomic_store_n(cache, id, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&ctx->lock);
    if (rc) {
        rm_error_free(saved);
        return rm__storage_status(rc);
    }
    error_restore(saved);
    *id_out = id;
    return RM_OK;
}

int rm_user_anonymous(rm_user **out, rm_ctx *ctx)
{
    if (!out || !ctx)
        return rm__error_misuse("out and ctx are required");
    *out = NULL;
    int64_t id;
    int rc = rm__system_user(ctx, "anonymous_user", &ctx->anonymous_user_id, &id);
    return rc ? rc : rm_user_get(out, ctx, id);
}

int64_t rm_user_id(const rm_user *u) { return u ? u->r.id : 0; }
const char *rm_user_username(const rm_user *u) { return u ? u->r.username : NULL; }
const char *rm_user_email(const rm_user *u) { return u ? u->r.email : NULL; }
int rm_user_is_active(const rm_user *u) { return u ? u->r.is_active != 0 : 0; }
int rm_user_is_staff(const rm_user *u) { return u ? u->r.is_staff != 0 : 0; }
int rm_user_is_superuser(const rm_user *u) { return u ? u->r.is_superuser != 0 : 0; }
int64_t rm_user_date_joined(const rm_user *u) { return u ? u->r.date_joined : 0; }
int rm_user_has_usable_password(const rm_user *u) { return u ? rm__password_usable(u->r.password) : 0; }

/* ---- principals ---- */

static int principal_make(rm_principal **out, int64_t id, const char *username, int staff, int super)
{
    if (!out)
        return rm__error_misuse("out is NULL");
    rm_principal *p = calloc(1, sizeof(*p));
    if (!p || !(p->username = strdup(username ? username : ""))) {
        free(p);
        *out = NULL;
        return rm__error_nomem();
    }
    p->user_id = id;
    p->is_staff = staff != 0;
    p->is_superuser = super != 0;
    *out = p;
    return RM_OK;
}

int rm__principal_from_record(rm_principal **out, const rm_user_record *r)
{
    return principal_make(out, r->id, r->username, r->is_staff, r->is_superuser);
}

int rm_principal_anonymous(rm_principal **out) { return principal_make(out, 0, "", 0, 0); }

int rm_principal_for_user(rm_principal **out, const rm_user *user)
{
    if (!user) {
        if (out)
            *out = NULL;
        return rm__error_misuse("user is NULL");
    }
    return rm__principal_from_record(out, &user->r);
}

int rm_principal_dup(rm_principal **out, const rm_principal *who)
{
    if (!who) {
        if (out)
            *out = NULL;
        return rm__error_misuse("who is NULL");
    }
    return principal_make(out, who->user_id, who->username, who->is_staff, who->is_superuser);
}

void rm_principal_free(rm_principal *who)
{
    if (!who)
        return;
    free(who->username);
    free(who);
}

int rm_principal_is_anonymous(const rm_principal *who) { return !who || who->user_id == 0; }
int64_t rm_principal_user_id(const rm_principal *who) { return who ? who->user_id : 0; }
const char *rm_principal_username(const rm_principal *who) { return who ? who->username : ""; }
int rm_principal_is_staff(const rm_principal *who) { return who ? who->is_staff : 0; }

int rm__require_user(const rm_principal *who)
{
    if (rm_principal_is_anonymous(who))
        return rm__error_set(RM_EPERM, "Authentication credentials were not provided.");
    return RM_OK;
}
