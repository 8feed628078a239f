/*
 * Per-model AI settings from the configuration: AI_MODEL_SETTINGS holds a JSON object keyed by model
 * display name,
 *
 *     {"Gemini": {"fallbacks": ["Deepseek", "Cypher"], "connect_timeout_ms": 5000, "timeout_ms": 30000}}
 *
 * or "@/path/to/file.json" naming a file that holds it. Each entry becomes one
 * rm_ai_model_settings_set() call on the ctx. The text is read, parsed and checked once, when the configuration
 * is loaded, so a mistake is one error line at start, never a surprise at the first generation.
 */
#include "server.h"

#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define MAX_FALLBACKS 16
#define MAX_TIMEOUT_MS 3600000LL

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* A non-negative integer number of milliseconds (0 = the ctx default), at most an hour. */
static int get_ms(json_t *v, const char *model, const char *key, int64_t *out, char *err, size_t n)
{
    if (!v) {
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > MAX_TIMEOUT_MS)
        return fail(err, n, "AI_MODEL_SETTINGS: \"%s\": %s must be a whole number of milliseconds from 0 to 3600000",
                    model, key);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* Check one model's entry and, with a ctx, apply it. */
static int one_model(rm_ctx *ctx, const char *model, json_t *entry, char *err, size_t n)
{
    if (!*model)
        return fail(err, n, "AI_MODEL_SETTINGS: a model name is empty");
    if (!json_is_object(entry))
        return fail(err, n, "AI_MODEL_SETTINGS: \"%s\": expected an object", model);
    const char *key;
    json_t *v;
    json_object_foreach(entry, key, v) {
        if (strcmp(key, "fallbacks") && strcmp(key, "connect_timeout_ms") && strcmp(key, "timeout_ms"))
            return fail(err, n,
                        "AI_MODEL_SETTINGS: \"%s\": unknown setting \"%s\" (known: fallbacks, connect_timeout_ms, "
                        "timeout_ms)", model, key);
    }
    rm_ai_model_settings s = RM_AI_MODEL_SETTINGS_INIT;
    if (get_ms(json_object_get(entry, "connect_timeout_ms"), model, "connect_timeout_ms", &s.connect_timeout_ms,
               err, n) ||
        get_ms(json_object_get(entry, "timeout_ms"), model, "timeout_ms", &s.timeout_ms, err, n))
        return -1;
    const char *names[MAX_FALLBACKS];
    json_t *fb = json_object_get(entry, "fallbacks");
    if (fb) {
        if (!json_is_array(fb) || json_array_size(fb) > MAX_FALLBACKS)
            return fail(err, n, "AI_MODEL_SETTINGS: \"%s\": fallbacks must be a list of at most 16 model names",
                        model);
        for (size_t i = 0; i < json_array_size(fb); i++) {
            const char *name = json_string_value(json_array_get(fb, i));
            if (!name || !*name)
                return fail(err, n, "AI_MODEL_SETTINGS: \"%s\": fallbacks must hold non-empty model names",
                            model);
            if (!strcasecmp(name, model))
                return fail(err, n, "AI_MODEL_SETTINGS: \"%s\": a model cannot be its own fallback", model);
            names[i] = name;
        }
        s.fallbacks = names;
        s.fallback_count = json_array_size(fb);
    }
    if (!ctx)
        return 0;
    int rc = rm_ai_model_settings_set(ctx, model, &s);
    if (rc != RM_OK)
        return fail(err, n, "AI_MODEL_SETTINGS: \"%s\": %s", model, rm_error_message(rm_error_last()));
    return 0;
}

/* The JSON text of `value`: itself, or the contents of the file after a leading '@'. */
static json_t *load(const char *value, char *err, size_t n)
{
    json_error_t je;
    json_t *root;
    if (value[0] == '@') {
        root = json_load_file(value + 1, JSON_REJECT_DUPLICATES, &je);
        if (!root) {
            if (je.line < 1) /* the file itself: missing, unreadable */
                fail(err, n, "AI_MODEL_SETTINGS: cannot read %s: %s", value + 1, je.text);
            else
                fail(err, n, "AI_MODEL_SETTINGS: %s: not valid JSON: %s", value + 1, je.text);
        }
    } else {
        root = json_loads(value, JSON_REJECT_DUPLICATES, &je);
        if (!root)
            fail(err, n, "AI_MODEL_SETTINGS: not valid JSON: %s", je.text);
    }
    if (root && !json_is_object(root)) {
        json_decref(root);
        fail(err, n, "AI_MODEL_SETTINGS: expected a JSON object keyed by model display name");
        return NULL;
    }
    return root;
}

/* Every entry through one_model(): checked only (ctx NULL) or also applied. */
static int each_model(rm_ctx *ctx, json_t *root, char *err, size_t errlen)
{
    const char *model;
    json_t *entry;
    json_object_foreach(root, model, entry) {
        if (one_model(ctx, model, entry, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int srv_ai_settings_load(void **out, const char *value, char *err, size_t errlen)
{
    *out = NULL;
    if (!value || !*value)
        return 0;
    json_t *root = load(value, err, errlen);
    if (!root)
        return -1;
    if (each_model(NULL, root, err, errlen)) {
        json_decref(root);
        return -1;
    }
    *out = root;
    return 0;
}

int srv_ai_settings_apply(rm_ctx *ctx, const void *settings, char *err, size_t errlen)
{
    return settings ? each_model(ctx, (json_t *)settings, err, errlen) : 0;
}

void srv_ai_settings_free(void *settings) { json_decref(settings); }
