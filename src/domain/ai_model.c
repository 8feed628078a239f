/* The AI model registry. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const PROVIDERS[] = {"google_gemini", "open_router", "openai_compatible"};

static void model_release(rm_ai_model_record *r)
{
    free((char *)r->display_name);
    free((char *)r->model_name);
    free((char *)r->api_provider);
    free((char *)r->api_key_name);
    free((char *)r->response_time_info);
    free((char *)r->description);
    free((char *)r->base_url);
}

void rm_ai_model_free(rm_ai_model *m)
{
    if (!m)
        return;
    model_release(&m->r);
    free(m);
}

static void model_free_any(void *p) { rm_ai_model_free(p); }

static int model_copy(rm_ai_model **out, const rm_ai_model_record *rec)
{
    rm_ai_model *m = calloc(1, sizeof(*m));
    if (!m)
        return rm__error_nomem();
    m->r = *rec;
    m->r.display_name = strdup(rec->display_name ? rec->display_name : "");
    m->r.model_name = strdup(rec->model_name ? rec->model_name : "");
    m->r.api_provider = strdup(rec->api_provider ? rec->api_provider : "");
    m->r.api_key_name = strdup(rec->api_key_name ? rec->api_key_name : "");
    m->r.response_time_info = strdup(rec->response_time_info ? rec->response_time_info : "");
    m->r.description = strdup(rec->description ? rec->description : "");
    m->r.base_url = rm__strdup(rec->base_url);
    if (!m->r.display_name || !m->r.model_name || !m->r.api_provider || !m->r.api_key_name ||
        !m->r.response_time_info || !m->r.description || (rec->base_url && !m->r.base_url)) {
        rm_ai_model_free(m);
        return rm__error_nomem();
    }
    *out = m;
    return RM_OK;
}

typedef struct {
    rm_ai_model *one;
    rm__vec *many;
} model_sink_data;

static int model_sink(void *data, const rm_ai_model_record *rec)
{
    model_sink_data *d = data;
    rm_ai_model *m;
    int rc = model_copy(&m, rec);
    if (rc)
        return rc;
    if (d->many) {
        if ((rc = rm__vec_push(d->many, m)))
            rm_ai_model_free(m);
        return rc;
    }
    rm_ai_model_free(d->one);
    d->one = m;
    return RM_OK;
}

int rm_ai_model_get(rm_ai_model **out, rm_ctx *ctx, const char *display_name)
{
    if (!out || !ctx || !display_name)
        return rm__error_misuse("out, ctx and display_name are required");
    *out = NULL;
    model_sink_data d = {0};
    int rc = RM__STORE(ctx, ai_model_get, 0, display_name, model_sink, &d);
    if (rc == RM_OK && !d.one)
        rc = RM_ENOTFOUND;
    if (rc) {
        rm_ai_model_free(d.one);
        return rm__storage_status(rc);
    }
    *out = d.one;
    return RM_OK;
}

/* Validated input; *_set flags say which fields were present. */
typedef struct {
    char *display_name, *model_name, *api_provider, *api_key_name, *response_time_info, *description, *base_url;
    bool base_url_set;
    int is_active, login_required;
    bool is_active_set, login_required_set, daily_limit_set;
    int64_t daily_limit;
} model_input;

static void input_free(model_input *in)
{
    free(in->display_name);
    free(in->model_name);
    free(in->api_provider);
    free(in->api_key_name);
    free(in->response_time_info);
    free(in->description);
    free(in->base_url);
}

static bool url_ok(const char *u)
{
    size_t skip = strncmp(u, "http://", 7) == 0 ? 7 : strncmp(u, "https://", 8) == 0 ? 8 : 0;
    if (!skip || !u[skip] || u[skip] == '/')
        return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ')
            return false;
    return true;
}

static int model_validate(const rm_fields *f, bool partial, model_input *in)
{
    memset(in, 0, sizeof(*in));
    rm__ferr *fe = rm__ferr_new();
    if (!fe)
        return rm__error_nomem();
    const rm__charspec name = {.required = !partial, .trim = true, .max_length = 100};
    const rm__charspec keyname = {.trim = true, .allow_blank = true, .max_length = 100};
    const rm__charspec info = {.trim = true, .allow_blank = true, .max_length = 100};
    const rm__charspec text = {.trim = true, .allow_blank = true};
    const rm__charspec url = {.trim = true, .allow_blank = true, .allow_null = true, .max_length = 2048};
    rm__field_char(fe, f, "display_name", &name, &in->display_name);
    rm__field_char(fe, f, "model_name", &name, &in->model_name);
    const rm__charspec prov = {.required = !partial, .trim = true};
    if (rm__field_char(fe, f, "api_provider", &prov, &in->api_provider) > 0) {
        bool ok = false;
        for (size_t i = 0; i < 3; i++)
            ok = ok || strcmp(in->api_provider, PROVIDERS[i]) == 0;
        if (!ok) {
            rm__ferr_addf(fe, "api_provider", "\"%.100s\" is not a valid choice.", in->api_provider);
            free(in->api_provider);
            in->api_provider = NULL;
        }
    }
    rm__field_char(fe, f, "api_key_name", &keyname, &in->api_key_name);
    if (in->api_key_name)
        for (const char *p = in->api_key_name; *p; p++)
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
                rm__ferr_add(fe, "api_key_name", "Enter the name of an environment variable (letters, digits and _).");
                break;
            }
    rm__field_char(fe, f, "response_time_info", &info, &in->response_time_info);
    rm__field_char(fe, f, "description", &text, &in->description);
    in->base_url_set = rm__field_char(fe, f, "base_url", &url, &in->base_url) > 0;
    if (in->base_url && in->base_url[0] && !url_ok(in->base_url))
        rm__ferr_add(fe, "base_url", "Enter a valid URL.");
    in->is_active_set = rm__field_bool(fe, f, "is_active", &in->is_active) > 0;
    in->login_required_set = rm__field_bool(fe, f, "login_required", &in->login_required) > 0;
    in->daily_limit_set = rm__field_int(fe, f, "daily_limit", 0, INT32_MAX, &in->daily_limit) > 0;
    if (!rm__ferr_empty(fe)) {
        input_free(in);
        memset(in, 0, sizeof(*in));
        return rm__error_fields(fe, "AI model data is invalid.");
    }
    rm__ferr_free(fe);
    return RM_OK;
}

static void apply_input(rm_ai_model_record *r, const model_input *in)
{
    if (in->display_name)
        r->display_name = in->display_name;
    if (in->model_name)
        r->model_name = in->model_name;
    if (in->api_provider)
        r->api_provider = in->api_provider;
    if (in->api_key_name)
        r->api_key_name = in->api_key_name;
    if (in->response_time_info)
        r->response_time_info = in->response_time_info;
    if (in->description)
        r->description = in->description;
    if (in->base_url_set)
        r->base_url = in->base_url && in->base_url[0] ? in->base_url : NULL;
    if (in->is_active_set)
        r->is_active = in->is_active;
    if (in->login_required_set)
        r->login_required = in->login_required;
    if (in->daily_limit_set)
        r->daily_limit = (int32_t)in->daily_limit;
}

/* Rules that involve several fields, checked on the merged record. */
static int model_check(const rm_ai_model_record *r)
{
    if (strcmp(r->api_provider, "openai_compatible") == 0 && !r->base_url)
        return rm__error_field("base_url", "This field is required for openai_compatible models.");
    if (strcmp(r->api_provider, "openai_compatible") != 0 && !r->api_key_name[0])
        return rm__error_field("api_key_name", "This field may not be blank.");
    return RM_OK;
}

static int store_status(int rc, const char *name)
{
    if (rc == RM_ECONFLICT) {
        rm__ferr *fe = rm__ferr_new();
        if (!fe)
            return rm__error_nomem();
        rm__ferr_add(fe, "display_name", "ai model with this display name already exists.");
        (void)name;
        return rm__error_fields(fe, NULL);
    }
    return rm__storage_status(rc);
}

/* After a model insert or update answered rc: the error, or invalidate the model caches and copy it out. */
static int model_stored(rm_ai_model **out, rm_ctx *ctx, int rc, const rm_ai_model_record *rec)
{
    if (rc)
        return store_status(rc, rec->display_name);
    rm__ctx_bump(ctx, RM_DATA_AI_MODELS);
    return out ? model_copy(out, rec) : RM_OK;
}

int rm_ai_model_create(rm_ai_model **out, rm_ctx *ctx, const rm_fields *fields)
{
    if (out)
        *out = NULL;
    if (!ctx || !fields)
        return rm__error_misuse("ctx and fields are required");
    model_input in;
    int rc = model_validate(fields, false, &in);
    if (rc)
        return rc;
    int64_t now = rm_ctx_now(ctx);
    rm_ai_model_record rec = {.is_active = 1, .api_key_name = "", .response_time_info = "", .description = "",
                              .created_at = now, .updated_at = now};
    apply_input(&rec, &in);
    if (!(rc = model_check(&rec)))
        rc = model_stored(out, ctx, RM__STORE(ctx, ai_model_insert, &rec, &rec.id), &rec);
    input_free(&in);
    return rc;
}

int rm_ai_model_update(rm_ai_model **out, rm_ctx *ctx, const char *display_name, const rm_fields *fields)
{
    if (out)
        *out = NULL;
    if (!ctx || !display_name || !fields)
        return rm__error_misuse("ctx, display_name and fields are required");
    rm_ai_model *cur = NULL;
    int rc = rm_ai_model_get(&cur, ctx, display_name);
    if (rc)
        return rc;
    model_input in;
    if ((rc = model_validate(fields, true, &in))) {
        rm_ai_model_free(cur);
        return rc;
    }
    rm_ai_model_record rec = cur->r;
    apply_input(&rec, &in);
    rec.updated_at = rm_ctx_now(ctx);
    if (!(rc = model_check(&rec)))
        rc = model_stored(out, ctx, RM__STORE(ctx, ai_model_update, &rec), &rec);
    input_free(&in);
    rm_ai_model_free(cur);
    return rc;
}

int rm_ai_model_deactivate(rm_ctx *ctx, const char *display_name)
{
    rm_fields *f = NULL;
    int rc = rm_fields_new(&f);
    if (rc == RM_OK && (rc = rm_fields_set_bool(f, "is_active", 0)) == RM_OK)
        rc = rm_ai_model_update(NULL, ctx, display_name, f);
    rm_fields_free(f);
    return rc;
}

struct rm_ai_model_page {
    rm__vec v;
};

int rm_ai_model_list(rm_ai_model_page **out, rm_ctx *ctx, int include_inactive)
{
    if (!out || !ctx)
        return rm__error_misuse("out and ctx are required");
    *out = NULL;
    rm_ai_model_page *page = calloc(1, sizeof(*page));
    if (!page)
        return rm__error_nomem();
    model_sink_data d = {.many = &page->v};
    int rc = RM__STORE(ctx, ai_model_list, !include_inactive, model_sink, &d);
    if (rc) {
        rm_ai_model_page_free(page);
        return rm__storage_status(rc);
    }
    *out = page;
    return RM_OK;
}

void rm_ai_model_page_free(rm_ai_model_page *p)
{
    if (!p)
        return;
    rm__vec_clear(&p->v, model_free_any);
    free(p);
}

size_t rm_ai_model_page_count(const rm_ai_model_page *p) { return p ? p->v.count : 0; }
const rm_ai_model *rm_ai_model_page_at(const rm_ai_model_page *p, size_t i) { return p && i < p->v.count ? p->v.items[i] : NULL; }

int rm_ai_model_page_public_json(char **out, const rm_ai_model_page *p)
{
    if (!out || !p)
        return rm__error_misuse("out and page are required");
    json_t *a = json_array();
    for (size_t i = 0; a && i < p->v.count; i++) {
        const rm_ai_model_record *r = &((const rm_ai_model *)p->v.items[i])->r;
        json_t *o = json_object();
        json_object_set_new(o, "model_name", json_string(r->display_name));
        json_object_set_new(o, "login_required", json_boolean(r->login_required));
        json_object_set_new(o, "response_time_info", json_string(r->response_time_info));
        json_object_set_new(o, "description", json_string(r->description));
        json_array_append_new(a, o);
    }
    return rm__dump(out, a);
}

int64_t rm_ai_model_id(const rm_ai_model *m) { return m ? m->r.id : 0; }
const char *rm_ai_model_display_name(const rm_ai_model *m) { return m ? m->r.display_name : NULL; }
const char *rm_ai_model_model_name(const rm_ai_model *m) { return m ? m->r.model_name : NULL; }
const char *rm_ai_model_api_provider(const rm_ai_model *m) { return m ? m->r.api_provider : NULL; }
const char *rm_ai_model_api_key_name(const rm_ai_model *m) { return m ? m->r.api_key_name : NULL; }
const char *rm_ai_model_base_url(const rm_ai_model *m) { return m ? m->r.base_url : NULL; }
int rm_ai_model_is_active(const rm_ai_model *m) { return m ? m->r.is_active != 0 : 0; }
int rm_ai_model_login_required(const rm_ai_model *m) { return m ? m->r.login_required != 0 : 0; }
int32_t rm_ai_model_daily_limit(const rm_ai_model *m) { return m ? m->r.daily_limit : 0; }
const char *rm_ai_model_response_time_info(const rm_ai_model *m) { return m ? m->r.response_time_info : NULL; }
const char *rm_ai_model_description(const rm_ai_model *m) { return m ? m->r.description : NULL; }
int64_t rm_ai_model_created_at(const rm_ai_model *m) { return m ? m->r.created_at : 0; }
int64_t rm_ai_model_updated_at(const rm_ai_model *m) { return m ? m->r.updated_at : 0; }
