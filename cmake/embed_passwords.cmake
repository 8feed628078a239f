# Turns data/common-passwords.txt (one password a line, lowercase, sorted byte-wise, committed that
# way) into a C array. Plain string operations only: entries may contain ';', which CMake lists split on.
file(READ "${IN}" text ENCODING UTF-8)
string(REGEX REPLACE "\n+$" "" text "${text}")
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "?" "\\?" text "${text}")
string(REGEX MATCHALL "\n" newlines "${text}")
list(LENGTH newlines n)
math(EXPR n "${n} + 1")
string(REPLACE "\n" "\",\n    \"" text "${text}")
file(WRITE "${OUT}.tmp" "/* Generated from data/common-passwords.txt by cmake/embed_passwords.cmake. */\n#include <stddef.h>\nextern const char *const rm__common_passwords[];\nextern const size_t rm__common_passwords_count;\nconst char *const rm__common_passwords[] = {\n    \"${text}\",\n};\nconst size_t rm__common_passwords_count = ${n};\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
