/* Helper for test_password_interop.py: hash and verify from the command line.
 *   auth_pwtool hash PASSWORD SALT ITERATIONS   print the encoded hash ("-" as SALT: a random one)
 *   auth_pwtool verify PASSWORD ENCODED         exit 0 if it verifies, 1 if not */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/internal.h"

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "hash") == 0) {
        char *out = NULL;
        uint32_t iterations = (uint32_t)strtoul(argv[4], NULL, 10);
        int rc = strcmp(argv[3], "-") == 0 ? rm__password_hash(&out, argv[2], iterations)
                                           : rm__password_hash_with_salt(&out, argv[2], argv[3], iterations);
        if (rc != RM_OK) {
            fprintf(stderr, "hash failed: %s\n", rm_error_message(rm_error_last()));
            return 2;
        }
        puts(out);
        free(out);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "verify") == 0)
        return rm__password_verify(argv[2], argv[3]) ? 0 : 1;
    fprintf(stderr, "usage: %s hash PASSWORD SALT|- ITERATIONS | verify PASSWORD ENCODED\n", argv[0]);
    return 2;
}
