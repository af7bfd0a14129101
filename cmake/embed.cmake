# cmake -DINPUT=file.lua -DOUTPUT=file.lua.c -DNAME=C_IDENTIFIER -P embed.cmake
# Writes OUTPUT defining `const char NAME[]`: INPUT's bytes and a NUL, as a
# char array (no escaping to get wrong, no string-literal length limits).
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n  " bytes "${bytes}")
file(WRITE "${OUTPUT}" "/* generated from ${INPUT} by cmake/embed.cmake: do not edit */\nconst char ${NAME}[] = {\n  ${bytes}0x00};\n")
