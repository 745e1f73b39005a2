# The container files of deploy/container, checked without a Docker engine:
# the compose file by docker-compose config and yamllint, the Dockerfile and
# the entry point by the assertions of container_lint_test.sh, the image's
# configuration by capfd itself. docker-compose and yamllint are required:
# the test fails, naming the packages, when they are missing.
if(NOT CAPF_SANITIZE)
  add_test(NAME "${CAPF_TEST_PREFIX}deploy/container: compose.yaml, Dockerfile and entrypoint.sh pass their static checks"
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/container_lint_test.sh ${PROJECT_SOURCE_DIR}
                   $<TARGET_FILE:capfd> $<TARGET_FILE:capfctl>)
  set_tests_properties("${CAPF_TEST_PREFIX}deploy/container: compose.yaml, Dockerfile and entrypoint.sh pass their static checks"
                       PROPERTIES FAIL_REGULAR_EXPRESSION "FAIL: ")
  add_test(NAME "${CAPF_TEST_PREFIX}deploy/container: capfd --check-config accepts deploy/container/capfd.json"
           COMMAND capfd --check-config --config ${PROJECT_SOURCE_DIR}/deploy/container/capfd.json)
endif()
