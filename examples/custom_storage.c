/*
 * custom_storage.c — an application that keeps libresumate's data in its own store.
 *
 * The store here is a set of mutex-guarded in-memory arrays, plugged in through rm_storage_vtable
 * (<resumate/storage.h>). It implements only what this program's flow needs: users (insert, get,
 * update), resumes (insert, get, list, update, delete), job applications (insert, get, list, update,
 * delete), ping and close. Every other member stays NULL; the library then fails the calls that need
 * it with RM_ESTORAGE ("storage backend does not support ai_model_list", ...), which the program shows
 * at the end with the AI model registry.
 *
 * Flow: register -> authenticate -> create a resume -> create an application that used it -> list
 * both, and search the applications (the library filters for a store without count members) -> delete the resume (the store nulls the application's resume_used in the same step) and the
 * application. Every step is checked; the program exits non-zero on any failure.
 *
 * Build against an installed library:
 *   cc -std=c11 -pthread custom_storage.c $(pkg-config --cflags --libs resumate)
 */
#define _POSIX_C_SOURCE 200809L

#include <resumate/resumate.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------- */
/* The store                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

/* Records are kept as the vtable's record structs, with strings the store owns (strdup'ed). */
typedef struct mem_store {
    pthread_mutex_t mu;                  /* guards everything below: members run on many threads */
    rm_user_record *users;
    size_t nusers, capusers;
    rm_resume_record *resumes;
    size_t nresumes, capresumes;
    rm_application_record *apps;
    size_t napps, capapps;
    int64_t next_user_id, next_resume_id, next_app_id;
    unsigned long calls;                 /* vtable calls served, for the report at the end */
} mem_store;

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }
/* strdup that maps NULL to NULL and tells allocation failure apart: returns 0 on success. */
static int dup_field(char **dst, const char *src)
{
    *dst = dup_or_null(src);
    return src && !*dst ? -1 : 0;
}

/* Grow an array to hold one more element: 0 on success. */
static int grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*items, ncap * size);
    if (!p)
        return -1;
    *items = p;
    *cap = ncap;
    return 0;
}

static void user_clear(rm_user_record *u)
{
    free((char *)u->username);
    free((char *)u->email);
    free((char *)u->password);
    free((char *)u->first_name);
    free((char *)u->last_name);
}

static void resume_clear(rm_resume_record *r)
{
    free((char *)r->title);
    free((char *)r->content);
}

static void app_clear(rm_application_record *a)
{
    free((char *)a->job_title);
    free((char *)a->company_name);
    free((char *)a->original_job_description);
    free((char *)a->date_applied);
    free((char *)a->status);
    free((char *)a->notes);
}

/* Deep copies of a record's strings into dst (scalars copied as they are). 0 on success. */
static int user_fill(rm_user_record *dst, const rm_user_record *src)
{
    *dst = *src;
    dst->username = dst->email = dst->password = dst->first_name = dst->last_name = NULL;
    if (dup_field((char **)&dst->username, src->username) || dup_field((char **)&dst->email, src->email) ||
        dup_field((char **)&dst->password, src->password) || dup_field((char **)&dst->first_name, src->first_name) ||
        dup_field((char **)&dst->last_name, src->last_name)) {
        user_clear(dst);
        return -1;
    }
    return 0;
}

static int resume_fill(rm_resume_record *dst, const rm_resume_record *src)
{
    *dst = *src;
    dst->title = dst->content = NULL;
    if (dup_field((char **)&dst->title, src->title) || dup_field((char **)&dst->content, src->content)) {
        resume_clear(dst);
        return -1;
    }
    return 0;
}

static int app_fill(rm_application_record *dst, const rm_application_record *src)
{
    *dst = *src;
    dst->job_title = dst->company_name = dst->original_job_description = NULL;
    dst->date_applied = dst->status = dst->notes = NULL;
    if (dup_field((char **)&dst->job_title, src->job_title) ||
        dup_field((char **)&dst->company_name, src->company_name) ||
        dup_field((char **)&dst->original_job_description, src->original_job_description) ||
        dup_field((char **)&dst->date_applied, src->date_applied) || dup_field((char **)&dst->status, src->status) ||
        dup_field((char **)&dst->notes, src->notes)) {
        app_clear(dst);
        return -1;
    }
    return 0;
}

static mem_store *lock(void *self)
{
    mem_store *s = self;
    pthread_mutex_lock(&s->mu);
    s->calls++;
    return s;
}

static int unlock(mem_store *s, int rc)
{
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- lifecycle ---- */

static void mem_close(void *self)
{
    mem_store *s = self;
    for (size_t i = 0; i < s->nusers; i++)
        user_clear(&s->users[i]);
    for (size_t i = 0; i < s->nresumes; i++)
        resume_clear(&s->resumes[i]);
    for (size_t i = 0; i < s->napps; i++)
        app_clear(&s->apps[i]);
    free(s->users);
    free(s->resumes);
    free(s->apps);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static int mem_ping(void *self)
{
    return unlock(lock(self), RM_OK);
}

/* ---- users ---- */

static int mem_user_insert(void *self, const rm_user_record *rec, int64_t *id_out)
{
    mem_store *s = lock(self);
    for (size_t i = 0; i < s->nusers; i++)
        if (strcmp(s->users[i].username, rec->username) == 0)
            return unlock(s, RM_ECONFLICT);
    if (grow((void **)&s->users, &s->capusers, s->nusers, sizeof *s->users) ||
        user_fill(&s->users[s->nusers], rec))
        return unlock(s, rm_storage_set_error(RM_ESTORAGE, "out of memory"));
    s->users[s->nusers].id = *id_out = ++s->next_user_id;
    s->nusers++;
    return unlock(s, RM_OK);
}

static int mem_user_get(void *self, int64_t id, const char *username, rm_user_sink sink, void *sink_data)
{
    mem_store *s = lock(self);
    for (size_t i = 0; i < s->nusers; i++) {
        const rm_user_record *u = &s->users[i];
        if (username ? strcmp(u->username, username) == 0 : u->id == id)
            return unlock(s, sink(sink_data, u)); /* the library copies what it needs during the call */
    }
    return unlock(s, RM_ENOTFOUND);
}

static int mem_user_update(void *self, const rm_user_record *rec)
{
    mem_store *s = lock(self);
    for (size_t i = 0; i < s->nusers; i++) {
        if (s->users[i].id != rec->id)
            continue;
        rm_user_record copy;
        if (user_fill(&copy, rec))
            return unlock(s, rm_storage_set_error(RM_ESTORAGE, "out of memory"));
        user_clear(&s->users[i]);
        s->users[i] = copy;
        return unlock(s, RM_OK);
    }
    return unlock(s, RM_ENOTFOUND);
}

/* ---- resumes ---- */

static int mem_resume_insert(void *self, const rm_resume_record *rec, int64_t *id_out)
{
    mem_store *s = lock(self);
    if (grow((void **)&s->resumes, &s->capresumes, s->nresumes, sizeof *s->resumes) ||
        resume_fill(&s->resumes[s->nresumes], rec))
        return unlock(s, rm_storage_set_error(RM_ESTORAGE, "out of memory"));
    s->resumes[s->nresumes].id = *id_out = ++s->next_resume_id;
    s->nresumes++;
    return unlock(s, RM_OK);
}

static rm_resume_record *find_resume(mem_store *s, int64_t user_id, int64_t id)
{
    for (size_t i = 0; i < s->nresumes; i++)
        if (s->resumes[i].id == id && s->resumes[i].user_id == user_id)
            return &s->resumes[i];
    return NULL;
}

static int mem_resume_get(void *self, int64_t user_id, int64_t id, rm_resume_sink sink, void *sink_data)
{
    mem_store *s = lock(self);
    const rm_resume_record *r = find_resume(s, user_id, id);
    return unlock(s, r ? sink(sink_data, r) : RM_ENOTFOUND);
}

/* List order of both lists: the sort time descending, then the id descending. */
typedef struct {
    int64_t time, id;
    size_t index;
} sort_key;

static int key_cmp(const void *a, const void *b)
{
    const sort_key *x = a, *y = b;
    if (x->time != y->time)
        return x->time > y->time ? -1 : 1;
    return x->id > y->id ? -1 : x->id < y->id;
}

/* Keyset paging: does (time, id) come strictly after the query's (after_time, after_id)? */
static int after_cursor(const rm_storage_query *q, int64_t time, int64_t id)
{
    if (!q || !q->has_after)
        return 1;
    return time < q->after_time || (time == q->after_time && id < q->after_id);
}

/* Sort the candidate keys and apply offset and limit; returns where to start and sets *end. */
static size_t page_bounds(sort_key *keys, size_t n, const rm_storage_query *q, size_t *end)
{
    qsort(keys, n, sizeof *keys, key_cmp);
    size_t start = 0;
    if (q && !q->has_after && q->offset > 0)
        start = (size_t)q->offset < n ? (size_t)q->offset : n;
    *end = n;
    if (q && q->limit > 0 && (size_t)q->limit < n - start)
        *end = start + (size_t)q->limit;
    return start;
}

static int mem_resume_list(void *self, int64_t user_id, const rm_storage_query *q, rm_resume_sink sink,
                           void *sink_data)
{
    mem_store *s = lock(self);
    sort_key *keys = malloc((s->nresumes ? s->nresumes : 1) * sizeof *keys);
    if (!keys)
        return unlock(s, rm_storage_set_error(RM_ESTORAGE, "out of memory"));
    size_t n = 0;
    for (size_t i = 0; i < s->nresumes; i++) {
        const rm_resume_record *r = &s->resumes[i];
        if (r->user_id == user_id && after_cursor(q, r->updated_at, r->id))
            keys[n++] = (sort_key){r->updated_at, r->id, i};
    }
    size_t end, i = page_bounds(keys, n, q, &end);
    int rc = RM_OK;
    for (; i < end && rc == RM_OK; i++)
        rc = sink(sink_data, &s->resumes[keys[i].index]);
    free(keys);
    return unlock(s, rc);
}

static int mem_resume_update(void *self, const rm_resume_record *rec)
{
    mem_store *s = lock(self);
    rm_resume_record *r = find_resume(s, rec->user_id, rec->id);
    if (!r)
        return unlock(s, RM_ENOTFOUND);
    char *title = strdup(rec->title), *content = strdup(rec->content);
    if (!title || !content) {
        free(title);
        free(content);
        return unlock(s, rm_storage_set_error(RM_ESTORAGE, "out of memory"));
    }
    resume_clear(r);
    r->title = title;
    r->content = content;
    r->updated_at = rec->updated_at;
    return unlock(s, RM_OK);
}

/* Deleting a resume nulls resume_used where it was used, under the same lock: atomic for readers. */
static int mem_resume_delete(void *self, int64_t user_id, int64_t id)
{
    mem_store *s = lock(self);
    rm_resume_record *r = find_resume(s, user_id, id);
    if (!r)
        return unlock(s, RM_ENOTFOUND);
    resume_clear(r);
    *r = s->resumes[--s->nresumes];
    for (size_t i = 0; i < s->napps; i++)
        if (s->apps[i].resume_used == id)
            s->apps[i].resume_used = 0;
    return unlock(s, RM_OK);
}

/* ---- job applications ---- */

static int mem_app_insert(void *self, const rm_application_record *rec, int64_t *id_out)
{
    mem_store *s = lock(self);
    if (grow((void **)&s->apps, &s->capapps, s->napps, sizeof *s->apps) || app_fill(&s->apps[s->napps], rec))
        return unlock(s, rm_storage_set_error(RM_ESTORAGE, "out of memory"));
    s->apps[s->napps].id = *id_out = ++s->next_app_id;
    s->napps++;
    return unlock(s, RM_OK);
}

/* A not-deleted application of user_id, or (user_id 0) a not-deleted example. */
static int app_visible(const rm_application_record *a, int64_t user_id)
{
    return !a->is_deleted && (user_id ? a->user_id == user_id : a->is_example);
}

static rm_application_record *find_app(mem_store *s, int64_t user_id, int64_t id)
{
    for (size_t i = 0; i < s->napps; i++)
        if (s->apps[i].id == id && app_visible(&s->apps[i], user_id))
            return &s->apps[i];
    return NULL;
}

static int mem_app_get(void *self, int64_t user_id, int64_t id, rm_application_sink sink, void *sink_data)
{
    mem_store *s = lock(self);
    const rm_application_record *a = find_app(s, user_id, id);
    return unlock(s, a ? sink(sink_data, a) : RM_ENOTFOUND);
}

static int mem_app_list(void *self, int64_t user_id, const rm_storage_query *q, rm_application_sink sink,
                        void *sink_data)
{
    mem_store *s = lock(self);
    sort_key *keys = malloc((s->napps ? s->napps : 1) * sizeof *keys);
    if (!keys)
        return unlock(s, rm_storage_set_error(RM_ESTORAGE, "out of memory"));
    size_t n = 0;
    for (size_t i = 0; i < s->napps; i++) {
        const rm_application_record *a = &s->apps[i];
        if (app_visible(a, user_id) && (!q || !q->status || (a->status && strcmp(a->status, q->status) == 0)) &&
            after_cursor(q, a->created_at, a->id))
            keys[n++] = (sort_key){a->created_at, a->id, i};
    }
    size_t end, i = page_bounds(keys, n, q, &end);
    int rc = RM_OK;
    for (; i < end && rc == RM_OK; i++)
        rc = sink(sink_data, &s->apps[keys[i].index]);
    free(keys);
    return unlock(s, rc);
}

static int mem_app_update(void *self, const rm_application_record *rec)
{
    mem_store *s = lock(self);
    rm_application_record *a = find_app(s, rec->user_id, rec->id);
    if (!a || rec->user_id == 0)
        return unlock(s, RM_ENOTFOUND);
    rm_application_record copy;
    if (app_fill(&copy, rec))
        return unlock(s, rm_storage_set_error(RM_ESTORAGE, "out of memory"));
    copy.created_at = a->created_at; /* not a mutable column */
    app_clear(a);
    *a = copy;
    return unlock(s, RM_OK);
}

static int mem_app_delete(void *self, int64_t user_id, int64_t id, int64_t now)
{
    mem_store *s = lock(self);
    rm_application_record *a = user_id ? find_app(s, user_id, id) : NULL;
    if (!a)
        return unlock(s, RM_ENOTFOUND);
    a->is_deleted = 1; /* soft delete, as the Django model does */
    a->updated_at = now;
    return unlock(s, RM_OK);
}

/* The vtable: a static constant, it outlives every handle. Members not set are NULL: the library
 * answers RM_ESTORAGE for calls needing them (AI models, token denylist, AI usage counters,
 * idempotency keys), so this store supports no AI generation and no token revocation. */
static const rm_storage_vtable mem_vtable = {
    .version = RM_STORAGE_VTABLE_VERSION,
    .close = mem_close,
    .ping = mem_ping,
    .user_insert = mem_user_insert,
    .user_get = mem_user_get,
    .user_update = mem_user_update,
    .resume_insert = mem_resume_insert,
    .resume_get = mem_resume_get,
    .resume_list = mem_resume_list,
    .resume_update = mem_resume_update,
    .resume_delete = mem_resume_delete,
    .application_insert = mem_app_insert,
    .application_get = mem_app_get,
    .application_list = mem_app_list,
    .application_update = mem_app_update,
    .application_delete = mem_app_delete,
};

/* Wrap a new, empty store in a storage handle; rm_storage_free() calls mem_close(). */
static int mem_storage_new(rm_storage **out, mem_store **state)
{
    mem_store *s = calloc(1, sizeof *s);
    if (!s)
        return RM_ENOMEM;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return RM_ERROR;
    }
    int rc = rm_storage_new(out, &mem_vtable, s);
    if (rc != RM_OK)
        mem_close(s);
    else
        *state = s;
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* The application                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

static int report(const char *what, int rc)
{
    const rm_error *err = rm_error_last();
    fprintf(stderr, "%s failed: %s: %s\n", what, rm_status_name(rc), rm_error_message(err));
    char *fields = NULL;
    if (rm_error_field_count(err) > 0 && rm_error_fields_json(&fields, err) == RM_OK)
        fprintf(stderr, "  field errors: %s\n", fields);
    rm_free(fields);
    return rc;
}

#define CHECK(call)                          \
    do {                                     \
        int rc_ = (call);                    \
        if (rc_ != RM_OK) {                  \
            report(#call, rc_);              \
            goto done;                       \
        }                                    \
    } while (0)

#define EXPECT(cond)                                            \
    do {                                                        \
        if (!(cond)) {                                          \
            fprintf(stderr, "unexpected: %s\n", #cond);         \
            goto done;                                          \
        }                                                       \
    } while (0)

static rm_fields *fields_of(const char *const pairs[][2], size_t n)
{
    rm_fields *f = NULL;
    if (rm_fields_new(&f) != RM_OK)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (rm_fields_set_string(f, pairs[i][0], pairs[i][1]) != RM_OK) {
            rm_fields_free(f);
            return NULL;
        }
    }
    return f;
}

int main(void)
{
    int status = EXIT_FAILURE;
    rm_storage *storage = NULL;
    mem_store *store = NULL;
    rm_ctx *ctx = NULL;
    rm_fields *in = NULL;
    rm_user *user = NULL;
    rm_principal *who = NULL;
    rm_resume *resume = NULL;
    rm_application *app = NULL, *after = NULL;
    rm_resume_page *resumes = NULL;
    rm_application_page *apps = NULL;
    rm_ai_model_page *models = NULL;
    char *json = NULL;

    printf("libresumate %s with an in-memory storage backend of this program's own\n", rm_version());
    CHECK(mem_storage_new(&storage, &store));
    rm_ctx_options opts = RM_CTX_OPTIONS_INIT;
    opts.storage = storage;          /* borrowed: free the ctx first, then the storage */
    opts.password_iterations = 10000; /* a quick demo; keep the default (720000) for real users */
    CHECK(rm_ctx_new(&ctx, &opts));

    /* register -> authenticate */
    const char *const alice[][2] = {{"username", "alice"},
                                    {"email", "alice@example.com"},
                                    {"password", "correct-horse-battery"},
                                    {"password2", "correct-horse-battery"}};
    EXPECT((in = fields_of(alice, sizeof alice / sizeof alice[0])) != NULL);
    CHECK(rm_user_register(&user, ctx, in));
    printf("registered user %lld: %s\n", (long long)rm_user_id(user), rm_user_username(user));
    int rc = rm_user_register(NULL, ctx, in); /* the store answers RM_ECONFLICT for a taken username */
    EXPECT(rc == RM_EINVALID && rm_error_field_count(rm_error_last()) == 1);
    CHECK(rm_error_fields_json(&json, rm_error_last()));
    printf("registering again is refused: %s\n", json);
    rm_free(json);
    json = NULL;
    rm_fields_free(in);
    in = NULL;
    CHECK(rm_user_authenticate(&who, ctx, "alice", "correct-horse-battery"));
    printf("authenticated as %s (user %lld)\n", rm_principal_username(who), (long long)rm_principal_user_id(who));

    /* create a resume and an application that used it */
    const char *const cv[][2] = {{"title", "Backend engineer"}, {"content", "# Alice\n\nC and SQL."}};
    EXPECT((in = fields_of(cv, sizeof cv / sizeof cv[0])) != NULL);
    CHECK(rm_resume_create(&resume, ctx, who, in));
    rm_fields_free(in);
    in = NULL;
    const char *const job[][2] = {{"job_title", "Senior C developer"}, {"company_name", "Example Corp"},
                                  {"date_applied", "2025-07-24"}, {"status", "Applied"}};
    EXPECT((in = fields_of(job, sizeof job / sizeof job[0])) != NULL);
    CHECK(rm_fields_set_int(in, "resume_used", rm_resume_id(resume)));
    CHECK(rm_application_create(&app, ctx, who, in));
    rm_fields_free(in);
    in = NULL;
    printf("created resume %lld and application %lld (resume_used %lld)\n", (long long)rm_resume_id(resume),
           (long long)rm_application_id(app), (long long)rm_application_resume_used(app));

    /* list */
    CHECK(rm_resume_list(&resumes, ctx, who, NULL));
    CHECK(rm_resume_page_to_json(&json, resumes));
    printf("resumes: %s\n", json);
    rm_free(json);
    json = NULL;
    CHECK(rm_application_list(&apps, ctx, who, NULL));
    CHECK(rm_application_page_to_json(&json, apps));
    printf("applications: %s\n", json);
    rm_free(json);
    json = NULL;
    EXPECT(rm_resume_page_count(resumes) == 1 && rm_application_page_count(apps) == 1);

    /* Search, ordering and counts: this store has no count members, so its list members never see
     * search or ordering; the library filters, sorts and counts over the store's list itself. */
    rm_list_options lo = RM_LIST_OPTIONS_INIT;
    lo.search = "senior c";
    lo.ordering = "company_name";
    int64_t matching = 0, none = 0;
    rm_application_page *found = NULL;
    CHECK(rm_application_list(&found, ctx, who, &lo));
    CHECK(rm_application_count(&matching, ctx, who, &lo));
    lo.search = "python";
    CHECK(rm_application_count(&none, ctx, who, &lo));
    EXPECT(rm_application_page_count(found) == 1 && matching == 1 && none == 0);
    rm_application_page_free(found);
    printf("search \"senior c\": %lld application(s); \"python\": %lld\n", (long long)matching, (long long)none);

    /* delete: the resume (the application keeps existing, with resume_used now null), then the application */
    CHECK(rm_resume_delete(ctx, who, rm_resume_id(resume)));
    CHECK(rm_application_get(&after, ctx, who, rm_application_id(app)));
    EXPECT(rm_application_resume_used(after) == 0);
    printf("deleted resume %lld; application %lld now has resume_used %lld\n", (long long)rm_resume_id(resume),
           (long long)rm_application_id(after), (long long)rm_application_resume_used(after));
    CHECK(rm_application_delete(ctx, who, rm_application_id(app)));
    rm_application_free(after);
    after = NULL;
    rc = rm_application_get(&after, ctx, who, rm_application_id(app));
    EXPECT(rc == RM_ENOTFOUND && after == NULL);
    rm_application_page_free(apps);
    apps = NULL;
    rm_resume_page_free(resumes);
    resumes = NULL;
    CHECK(rm_application_list(&apps, ctx, who, NULL));
    CHECK(rm_resume_list(&resumes, ctx, who, NULL));
    EXPECT(rm_application_page_count(apps) == 0 && rm_resume_page_count(resumes) == 0);
    printf("deleted application %lld; lists are empty again\n", (long long)rm_application_id(app));

    /* A member this store leaves NULL: the library fails the call with RM_ESTORAGE. */
    rc = rm_ai_model_list(&models, ctx, 1);
    EXPECT(rc == RM_ESTORAGE && models == NULL);
    printf("AI models: %s (%s)\n", rm_status_name(rc), rm_error_message(rm_error_last()));

    pthread_mutex_lock(&store->mu);
    printf("the store served %lu calls and holds %zu user(s), %zu resume(s), %zu application(s)\n", store->calls,
           store->nusers, store->nresumes, store->napps);
    pthread_mutex_unlock(&store->mu);
    status = EXIT_SUCCESS;

done:
    rm_free(json);
    rm_ai_model_page_free(models);
    rm_application_page_free(apps);
    rm_resume_page_free(resumes);
    rm_application_free(after);
    rm_application_free(app);
    rm_resume_free(resume);
    rm_principal_free(who);
    rm_user_free(user);
    rm_fields_free(in);
    rm_ctx_free(ctx);
    rm_storage_free(storage); /* calls mem_close() */
    puts(status == EXIT_SUCCESS ? "done" : "FAILED");
    return status;
}
