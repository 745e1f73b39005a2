# capfd under systemd's Type=notify protocol (a fake NOTIFY_SOCKET).
capf_add_e2e_test("deploy: capfd notifies systemd (ready, watchdog, reload, stopping)"
                  deploy/sd_notify_test.sh)
capf_add_e2e_test("deploy: SIGTERM the moment the admin socket appears stops capfd cleanly (30 starts)"
                  deploy/sigterm_at_start_test.sh)
capf_add_e2e_test("deploy: capfd outlives the reader of its log (no death by SIGPIPE)"
                  deploy/log_reader_gone_test.sh)
capf_add_e2e_test("deploy: capfd and capfctl started with standard input, output and error closed"
                  deploy/closed_stdio_test.sh)

# The Debian package built, installed with dpkg -i, serving a phone, purged.
# Release build only (the packager's); needs root, skipped otherwise.
if(NOT CAPF_SANITIZE)
  add_test(NAME "deploy: the Debian package installs, enrols a phone and purges"
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/package_test.sh ${PROJECT_BINARY_DIR}
                   $<TARGET_FILE:capf-phone> ${PROJECT_SOURCE_DIR})
  set_tests_properties("deploy: the Debian package installs, enrols a phone and purges" PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS "deploy;package")
endif()
