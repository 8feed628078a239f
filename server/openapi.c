/*
 * The OpenAPI 3 document served at /api/schema/, generated from the route table so that every
 * route the router knows is described (a test checks it), plus the request and response shapes.
 */
#include "server.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *ref(const char *name)
{
    char buf[128];
    snprintf(buf, sizeof buf, "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", buf);
}

static json_t *json_content(json_t *schema)
{
    return json_pack("{s:{s:o}}", "application/json", "schema", schema);
}

static json_t *response(const char *description, json_t *schema)
{
    json_t *r = json_pack("{s:s}", "description", description);
    if (schema)
        json_object_set_new(r, "content", json_content(schema));
    return r;
}

static json_t *str_prop(const char *fmt, int nullable, int read_only)
{
    json_t *p = json_pack("{s:s}", "type", "string");
    if (fmt)
        json_object_set_new(p, "format", json_string(fmt));
    if (nullable)
        json_object_set_new(p, "nullable", json_true());
    if (read_only)
        json_object_set_new(p, "readOnly", json_true());
    return p;
}

static json_t *schemas(void)
{
    json_t *s = json_object();
    json_object_set_new(s, "Error", json_pack("{s:s,s:{s:{s:s}}}", "type", "object", "properties", "detail", "type",
                                              "string"));
    json_object_set_new(s, "FieldErrors",
                        json_pack("{s:s,s:{s:s,s:{s:s}}}", "type", "object", "additionalProperties", "type", "array",
                                  "items", "type", "string"));
    json_object_set_new(s, "Register",
                        json_pack("{s:s,s:[ssss],s:{s:{s:s,s:i},s:{s:s,s:s},s:{s:s,s:b},s:{s:s,s:b}}}", "type",
                                  "object", "required", "username", "email", "password", "password2", "properties",
                                  "username", "type", "string", "maxLength", 150, "email", "type", "string", "format",
                                  "email", "password", "type", "string", "writeOnly", 1, "password2", "type",
                                  "string", "writeOnly", 1));
    json_object_set_new(s, "RegisterResult", json_pack("{s:s,s:{s:{s:s},s:{s:s}}}", "type", "object", "properties",
                                                       "username", "type", "string", "email", "type", "string"));
    json_object_set_new(s, "TokenRequest", json_pack("{s:s,s:[ss],s:{s:{s:s},s:{s:s,s:b}}}", "type", "object",
                                                     "required", "username", "password", "properties", "username",
                                                     "type", "string", "password", "type", "string", "writeOnly", 1));
    json_object_set_new(s, "TokenPair", json_pack("{s:s,s:{s:{s:s},s:{s:s}}}", "type", "object", "properties",
                                                  "refresh", "type", "string", "access", "type", "string"));
    json_object_set_new(s, "RefreshRequest", json_pack("{s:s,s:[s],s:{s:{s:s}}}", "type", "object", "required",
                                                       "refresh", "properties", "refresh", "type", "string"));
    json_object_set_new(s, "AccessToken", json_pack("{s:s,s:{s:{s:s},s:{s:s}}}", "type", "object", "properties",
                                                    "access", "type", "string", "refresh", "type", "string"));
    json_object_set_new(s, "AIModel",
                        json_pack("{s:s,s:{s:{s:s,s:s},s:{s:s},s:{s:s},s:{s:s}}}", "type", "object", "properties",
                                  "model_name", "type", "string", "description", "display name", "login_required",
                                  "type", "boolean", "response_time_info", "type", "string", "description", "type",
                                  "string"));
    json_object_set_new(s, "CachedModels", json_pack("{s:s,s:{s:{s:s},s:{s:s,s:o}}}", "type", "object", "properties",
                                                     "cache_status", "type", "string", "data", "type", "array",
                                                     "items", ref("AIModel")));
    json_object_set_new(s, "GenerateRequest",
                        json_pack("{s:s,s:[ss],s:{s:{s:s},s:{s:s,s:i},s:{s:s},s:{s:s}}}", "type", "object",
                                  "required", "model", "user_input", "properties", "model", "type", "string",
                                  "user_input", "type", "string", "minLength", 50, "title", "type", "string",
                                  "application_id", "type", "integer"));
    json_object_set_new(s, "GenerateResult", json_pack("{s:s,s:{s:{s:s},s:{s:s}}}", "type", "object", "properties",
                                                       "resume_id", "type", "integer", "content", "type", "string"));
    json_t *resume = json_pack("{s:s,s:[ss],s:{}}", "type", "object", "required", "title", "content", "properties");
    json_t *rp = json_object_get(resume, "properties");
    json_object_set_new(rp, "id", json_pack("{s:s,s:b}", "type", "integer", "readOnly", 1));
    json_object_set_new(rp, "user", json_pack("{s:s,s:b,s:s}", "type", "string", "readOnly", 1, "description",
                                              "owner's username"));
    json_object_set_new(rp, "title", json_pack("{s:s,s:i}", "type", "string", "maxLength", 255));
    json_object_set_new(rp, "content", json_pack("{s:s}", "type", "string"));
    json_object_set_new(rp, "created_at", str_prop("date-time", 0, 1));
    json_object_set_new(rp, "updated_at", str_prop("date-time", 0, 1));
    json_object_set_new(s, "Resume", resume);
    json_t *app = json_pack("{s:s,s:{}}", "type", "object", "properties");
    json_t *ap = json_object_get(app, "properties");
    json_object_set_new(ap, "id", json_pack("{s:s,s:b}", "type", "integer", "readOnly", 1));
    json_object_set_new(ap, "job_title", str_prop(NULL, 1, 0));
    json_object_set_new(ap, "company_name", json_pack("{s:s,s:i,s:b}", "type", "string", "maxLength", 255,
                                                      "nullable", 1));
    json_object_set_new(ap, "original_job_description", str_prop(NULL, 1, 0));
    json_object_set_new(ap, "date_applied", str_prop("date", 1, 0));
    json_object_set_new(ap, "status", json_pack("{s:s,s:[ssss],s:s}", "type", "string", "enum", "Applied",
                                                "Interviewing", "Offer", "Rejected", "default", "Applied"));
    json_object_set_new(ap, "notes", str_prop(NULL, 1, 0));
    json_object_set_new(ap, "is_deleted", json_pack("{s:s,s:b}", "type", "boolean", "readOnly", 1));
    json_object_set_new(ap, "is_example", json_pack("{s:s,s:b}", "type", "boolean", "readOnly", 1));
    json_object_set_new(ap, "created_at", str_prop("date-time", 0, 1));
    json_object_set_new(ap, "updated_at", str_prop("date-time", 0, 1));
    json_object_set_new(ap, "user", json_pack("{s:s,s:b}", "type", "integer", "readOnly", 1));
    json_object_set_new(ap, "resume_used", json_pack("{s:s,s:b}", "type", "integer", "nullable", 1));
    json_object_set_new(s, "JobApplication", app);
    json_object_set_new(s, "CachedApplications",
                        json_pack("{s:s,s:{s:{s:s},s:{s:s,s:o}}}", "type", "object", "properties", "cache_status",
                                  "type", "string", "data", "type", "array", "items", ref("JobApplication")));
    return s;
}

/* Request body and success response of one operation. */
static void shapes(const char *pattern, unsigned m, const char **req, const char **res, int *code, int *array)
{
    *req = NULL;
    *res = NULL;
    *code = m == M_POST ? 201 : (m == M_DELETE ? 204 : 200);
    *array = 0;
    if (strstr(pattern, "/register/")) {
        *req = "Register";
        *res = "RegisterResult";
    } else if (strcmp(pattern, "/api/auth/token/") == 0) {
        *req = "TokenRequest";
        *res = "TokenPair";
        *code = 200;
    } else if (strstr(pattern, "/token/refresh/")) {
        *req = "RefreshRequest";
        *res = "AccessToken";
        *code = 200;
    } else if (strstr(pattern, "/token/blacklist/")) {
        *req = "RefreshRequest";
        *code = 200;
    } else if (strstr(pattern, "/ai/models/")) {
        *res = "CachedModels";
    } else if (strstr(pattern, "/ai/generate/")) {
        *req = "GenerateRequest";
        *res = "GenerateResult";
    } else if (strstr(pattern, "/api/resumes/")) {
        *req = (m & (M_POST | M_PUT | M_PATCH)) ? "Resume" : NULL;
        *res = m == M_DELETE ? NULL : "Resume";
        *array = m == M_GET && !strstr(pattern, "{id}");
    } else if (strstr(pattern, "/api/job-applications/")) {
        *req = (m & (M_POST | M_PUT | M_PATCH)) ? "JobApplication" : NULL;
        *res = m == M_DELETE ? NULL : "JobApplication";
        *array = m == M_GET && !strstr(pattern, "{id}");
    } else if (strstr(pattern, "/api/example-job-applications/")) {
        *res = strstr(pattern, "{id}") ? "JobApplication" : "CachedApplications";
    }
}

/* A query parameter of a list operation. */
static json_t *query_param(const char *name, const char *description, json_t *schema)
{
    return json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", name, "in", "query", "required", 0, "description", description,
                     "schema", schema);
}

/* The opt-in paging and filtering parameters of a list (API.md "Extensions"); NULL for other operations. */
static json_t *list_params(const char *pattern, unsigned m)
{
    if (m != M_GET || strstr(pattern, "{id}"))
        return NULL;
    const char *fields;
    bool paged = true, status = false;
    if (strcmp(pattern, "/api/resumes/") == 0) {
        fields = "id, created_at, updated_at, title";
    } else if (strcmp(pattern, "/api/job-applications/") == 0) {
        fields = "id, created_at, updated_at, job_title, company_name, status, date_applied";
        status = true;
    } else if (strcmp(pattern, "/api/example-job-applications/") == 0) {
        fields = "id, created_at, updated_at, job_title, company_name, status, date_applied";
        paged = false;
    } else {
        return NULL;
    }
    json_t *a = json_array();
    if (paged) {
        json_array_append_new(a, query_param("limit", "Page size; turns on the {count, next, previous, results} envelope.",
                                             json_pack("{s:s,s:i}", "type", "integer", "minimum", 1)));
        json_array_append_new(a, query_param("offset", "Rows to skip (with limit).",
                                             json_pack("{s:s,s:i}", "type", "integer", "minimum", 0)));
    }
    if (status)
        json_array_append_new(a, query_param("status", "Only this status.",
                                             json_pack("{s:s,s:[ssss]}", "type", "string", "enum", "Applied",
                                                       "Interviewing", "Offer", "Rejected")));
    char search[256], ordering[512];
    snprintf(search, sizeof search, "Terms separated by spaces or commas (at most 16); each must occur in %s, "
             "ignoring ASCII case; %% and _ are literal.",
             status || !paged ? "job_title, company_name or original_job_description" : "title or content");
    snprintf(ordering, sizeof ordering, "Comma-separated fields, '-' for descending, ties broken by id. Fields: %s. "
             "An unknown field is a 400.", fields);
    json_array_append_new(a, query_param("search", search, json_pack("{s:s}", "type", "string")));
    json_array_append_new(a, query_param("ordering", ordering, json_pack("{s:s}", "type", "string")));
    return a;
}

static json_t *operation(const struct srv_route *rt, unsigned m, const char *mname)
{
    json_t *op = json_pack("{s:s,s:[s]}", "summary", rt->summary, "tags", rt->tag);
    char opid[160];
    snprintf(opid, sizeof opid, "%s%s", mname, rt->pattern);
    for (char *p = opid; *p; p++)
        if (*p == '/' || *p == '{' || *p == '}' || *p == '-')
            *p = '_';
    json_object_set_new(op, "operationId", json_string(opid));
    if (strstr(rt->pattern, "{id}"))
        json_object_set_new(op, "parameters", json_pack("[{s:s,s:s,s:b,s:{s:s}}]", "name", "id", "in", "path",
                                                        "required", 1, "schema", "type", "integer"));
    json_t *lp = list_params(rt->pattern, m);
    if (lp)
        json_object_set_new(op, "parameters", lp);
    if (rt->auth == AUTH_REQUIRED)
        json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearerAuth"));
    else if (rt->auth == AUTH_OPTIONAL)
        json_object_set_new(op, "security", json_pack("[{s:[]},{}]", "bearerAuth"));
    else
        json_object_set_new(op, "security", json_array());
    const char *req, *res;
    int code, array;
    shapes(rt->pattern, m, &req, &res, &code, &array);
    if (req) {
        json_t *body = json_pack("{s:b,s:{}}", "required", m != M_PATCH, "content");
        json_t *content = json_object_get(body, "content");
        json_object_set_new(content, "application/json", json_pack("{s:o}", "schema", ref(req)));
        json_object_set_new(content, "application/x-www-form-urlencoded", json_pack("{s:o}", "schema", ref(req)));
        json_object_set_new(op, "requestBody", body);
    }
    json_t *responses = json_object();
    char codes[8];
    snprintf(codes, sizeof codes, "%d", code);
    json_t *schema = NULL;
    if (res && array) /* a plain array, or the paging envelope with ?limit= */
        schema = json_pack("{s:[{s:s,s:o},{s:s,s:{s:{s:s},s:{s:s,s:b},s:{s:s,s:b},s:{s:s,s:o}}}]}", "oneOf", "type",
                           "array", "items", ref(res), "type", "object", "properties", "count", "type", "integer",
                           "next", "type", "string", "nullable", 1, "previous", "type", "string", "nullable", 1,
                           "results", "type", "array", "items", ref(res));
    else if (res)
        schema = ref(res);
    else if (code != 204)
        schema = json_pack("{s:s}", "type", "object");
    if (strcmp(rt->pattern, "/metrics") == 0) {
        json_decref(schema);
        json_object_set_new(responses, "200", json_pack("{s:s,s:{s:{s:{s:s}}}}", "description",
                                                        "Prometheus text format", "content", "text/plain", "schema",
                                                        "type", "string"));
    } else {
        json_object_set_new(responses, codes, response("Success", schema));
    }
    if (req || lp)
        json_object_set_new(responses, "400", response("Validation error", ref("FieldErrors")));
    if (rt->auth != AUTH_NONE || strstr(rt->pattern, "/token/"))
        json_object_set_new(responses, "401", response("Not authenticated or bad token", ref("Error")));
    if (strstr(rt->pattern, "{id}"))
        json_object_set_new(responses, "404", response("Not found (also another user's object)", ref("Error")));
    if (!rt->no_host_check)
        json_object_set_new(responses, "429", response("Throttled; see Retry-After", ref("Error")));
    if (strstr(rt->pattern, "/generate/") || strcmp(rt->pattern, "/healthz") == 0)
        json_object_set_new(responses, "503", response("Unavailable", NULL));
    json_object_set_new(op, "responses", responses);
    return op;
}

char *srv_openapi_build(size_t *len)
{
    json_t *doc = json_pack("{s:s,s:{s:s,s:s,s:s}}", "openapi", "3.0.3", "info", "title", "ResuMate API", "version",
                            rm_version(), "description",
                            "Served by resumate-server (libresumate); wire-compatible with the ResuMate REST API.");
    json_t *paths = json_object();
    static const struct { unsigned bit; const char *name; } order[] = {
        { M_GET, "get" }, { M_POST, "post" }, { M_PUT, "put" }, { M_PATCH, "patch" }, { M_DELETE, "delete" },
    };
    for (size_t i = 0; i < srv_route_count; i++) {
        const struct srv_route *rt = &srv_routes[i];
        json_t *item = json_object();
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
            if (rt->methods & order[k].bit)
                json_object_set_new(item, order[k].name, operation(rt, order[k].bit, order[k].name));
        json_object_set_new(paths, rt->pattern, item);
    }
    json_object_set_new(doc, "paths", paths);
    json_t *components = json_object();
    json_object_set_new(components, "schemas", schemas());
    json_object_set_new(components, "securitySchemes",
                        json_pack("{s:{s:s,s:s,s:s}}", "bearerAuth", "type", "http", "scheme", "bearer",
                                  "bearerFormat", "JWT"));
    json_object_set_new(doc, "components", components);
    char *text = json_dumps(doc, JSON_INDENT(1));
    json_decref(doc);
    *len = text ? strlen(text) : 0;
    return text;
}
