# Writes a C++ source defining `extern const char <SYMBOL>[]` with the bytes of INPUT.
# Used at build time so the SES models are compiled into the binary.
file(READ "${INPUT}" content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," content "${content}")
file(WRITE "${OUTPUT}" "namespace sesame::api {\nextern const char ${SYMBOL}[];\nconst char ${SYMBOL}[] = {${content} 0x00};\n}\n")
