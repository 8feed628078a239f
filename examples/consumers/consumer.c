/*
 * consumer.c — the smallest real program against an installed libresumate, built by both consumer
 * builds (CMake find_package and plain make + pkg-config), once with the shared and once with the
 * static library. It checks that header and library agree, and that a round trip through storage works.
 */
#include <resumate/resumate.h>

#include <stdio.h>
#include <string.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "consumer: %s: %s: %s\n", what, rm_status_name(rc), rm_error_message(rm_error_last()));
    return 1;
}

int main(void)
{
    if (rm_version_number() != RM_VERSION_NUMBER || strcmp(rm_version(), RM_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: headers are %s but the library is %s\n", RM_VERSION_STRING, rm_version());
        return 1;
    }
    if (strcmp(rm_status_name(RM_ENOTFOUND), "RM_ENOTFOUND") != 0)
        return fail("rm_status_name", RM_ERROR);

    rm_ctx *ctx = NULL;
    rm_user *user = NULL, *again = NULL, *missing = NULL;
    int rc = rm_ctx_new(&ctx, NULL); /* all defaults: an in-memory SQLite database */
    if (rc != RM_OK)
        return fail("rm_ctx_new", rc);
    int status = 1;
    /* No password: an unusable one, so no hashing. */
    rc = rm_user_create(&user, ctx, "consumer", "consumer@example.com", NULL, 0);
    if (rc != RM_OK) {
        fail("rm_user_create", rc);
        goto done;
    }
    rc = rm_user_get_by_username(&again, ctx, "consumer");
    if (rc != RM_OK) {
        fail("rm_user_get_by_username", rc);
        goto done;
    }
    if (rm_user_id(again) != rm_user_id(user) || rm_user_has_usable_password(again)) {
        fprintf(stderr, "consumer: stored user does not match\n");
        goto done;
    }
    rc = rm_user_get_by_username(&missing, ctx, "nobody");
    if (rc != RM_ENOTFOUND || rm_error_code(rm_error_last()) != RM_ENOTFOUND) {
        fprintf(stderr, "consumer: unknown user gave %s\n", rm_status_name(rc));
        goto done;
    }
    printf("consumer ok: libresumate %s\n", rm_version());
    status = 0;
done:
    rm_user_free(missing);
    rm_user_free(again);
    rm_user_free(user);
    rm_ctx_free(ctx);
    return status;
}
