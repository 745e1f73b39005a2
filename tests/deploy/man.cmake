# The man pages of deploy/man (target capf_man, in its BINARY_DIR): every
# option of every --help and every key of CONFIG.md on its page, pages that
# render with no warning, reproducible gzip. Once, in the build without the
# sanitizers: the pages do not depend on them.
if(NOT CAPF_SANITIZE AND TARGET capf_man)
  set(man_test ${CMAKE_CURRENT_SOURCE_DIR}/man_pages_test.py)
  set(man_pages $<TARGET_PROPERTY:capf_man,BINARY_DIR>)
  add_test(NAME "${CAPF_TEST_PREFIX}deploy/man: capfd(8) and capfctl(1) show every command and option of their --help"
           COMMAND ${CAPF_PYTHON3} ${man_test} options --pages ${man_pages}
                   --capfd $<TARGET_FILE:capfd> --capfctl $<TARGET_FILE:capfctl>)
  add_test(NAME "${CAPF_TEST_PREFIX}deploy/man: capfd.json(5) shows every key of deploy/CONFIG.md with its default"
           COMMAND ${CAPF_PYTHON3} ${man_test} keys --pages ${man_pages}
                   --config-md ${PROJECT_SOURCE_DIR}/deploy/CONFIG.md)
  add_test(NAME "${CAPF_TEST_PREFIX}deploy/man: pages render with no warning (groff -ww, man --warnings, mandoc -Tlint)"
           COMMAND ${CAPF_PYTHON3} ${man_test} render --pages ${man_pages})
  add_test(NAME "${CAPF_TEST_PREFIX}deploy/man: pages are gzip -9n, name each other in SEE ALSO and list FILES"
           COMMAND ${CAPF_PYTHON3} ${man_test} format --pages ${man_pages})
endif()
