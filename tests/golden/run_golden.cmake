# Runs one golden case: bulwark replay over input.log with the case's rules; compares the alerts.
# Runs inside the case folder with relative paths, so that log.file.path in the alerts is the
# same on every machine.
set(args replay --rules rules --year 2026 --threads ${THREADS} --quiet --output ${OUT})
if(EXISTS ${CASE_DIR}/args.txt)
  file(STRINGS ${CASE_DIR}/args.txt extra)
  list(APPEND args ${extra})
endif()
list(APPEND args input.log)
execute_process(COMMAND ${BULWARK} ${args} WORKING_DIRECTORY ${CASE_DIR} RESULT_VARIABLE rc
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bulwark exited with ${rc}: ${err}")
endif()
if("$ENV{BULWARK_UPDATE_GOLDEN}" STREQUAL "1")
  file(COPY_FILE ${OUT} ${CASE_DIR}/expected.jsonl)
endif()
file(READ ${OUT} actual)
file(READ ${CASE_DIR}/expected.jsonl expected)
if(NOT actual STREQUAL expected)
  execute_process(COMMAND diff -u ${CASE_DIR}/expected.jsonl ${OUT})
  message(FATAL_ERROR "output differs from ${CASE_DIR}/expected.jsonl")
endif()
