# Install layout and the Debian packages, one per component: mpic-orchestrator, mpic-agent
# and, when the `mpic` target exists, mpic-cli. scripts/package.sh builds them into dist/.
# CMakeLists.txt includes this file last (cmake_language(DEFER)), so every target exists here.
include(GNUInstallDirs)

# systemd's own answer where its pkg-config file is installed (Debian 12: /lib/systemd/system).
set(MPIC_SYSTEMD_UNIT_DIR "" CACHE PATH "where the systemd units go (default: systemd's systemdsystemunitdir)")
set(unit_dir "${MPIC_SYSTEMD_UNIT_DIR}")
if(NOT unit_dir)
  pkg_get_variable(unit_dir systemd systemdsystemunitdir)
endif()
if(NOT unit_dir)
  set(unit_dir /lib/systemd/system)
endif()

# Paths the units and maintainer scripts name. With the prefix /usr (scripts/package.sh),
# GNUInstallDirs gives /etc and /var, not /usr/etc.
set(MPIC_SBINDIR "${CMAKE_INSTALL_FULL_SBINDIR}")
set(MPIC_CONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/mpic")
set(MPIC_STATEDIR "${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/lib/mpic")
set(MPIC_LOGDIR "${CMAKE_INSTALL_FULL_LOCALSTATEDIR}/log/mpic")

set(example_orchestrator "${PROJECT_SOURCE_DIR}/deploy/config/orchestrator.json")
set(example_agent "${PROJECT_SOURCE_DIR}/deploy/config/agent.json")

foreach(role orchestrator agent)
  set(MPIC_ROLE ${role})
  set(MPIC_UNIT mpic-${role}.service)
  set(gen "${PROJECT_BINARY_DIR}/packaging/${role}")
  configure_file(${PROJECT_SOURCE_DIR}/packaging/systemd/mpic-${role}.service.in ${gen}/mpic-${role}.service @ONLY)
  foreach(script postinst prerm postrm)
    configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/${script}.in ${gen}/${script} @ONLY
                   FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                    WORLD_READ WORLD_EXECUTE)
  endforeach()
  install(TARGETS mpic-${role} RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT ${role})
  install(FILES ${gen}/mpic-${role}.service DESTINATION ${unit_dir} COMPONENT ${role})
  install(FILES ${PROJECT_SOURCE_DIR}/man/mpic-${role}.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT ${role})
  install(FILES ${example_${role}} DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/mpic-${role}/examples COMPONENT ${role})
  install(FILES ${PROJECT_SOURCE_DIR}/docs/config.md ${PROJECT_SOURCE_DIR}/docs/operations.md
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/mpic-${role} COMPONENT ${role})
endforeach()
# One file can belong to one Debian package only: mpic.conf(5) describes both files and
# ships with the orchestrator; mpic-agent(8) points agent hosts to it and to config.md.
install(FILES ${PROJECT_SOURCE_DIR}/man/mpic.conf.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5 COMPONENT orchestrator)
install(FILES ${PROJECT_SOURCE_DIR}/docs/audit-log.md ${PROJECT_SOURCE_DIR}/docs/ejbca.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/mpic-orchestrator COMPONENT orchestrator)

set(components orchestrator agent)
if(TARGET mpic)
  install(TARGETS mpic RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
  if(EXISTS ${PROJECT_SOURCE_DIR}/man/mpic.1)
    install(FILES ${PROJECT_SOURCE_DIR}/man/mpic.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT cli)
  endif()
  list(APPEND components cli)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL ${components})
set(CPACK_PACKAGE_NAME mpic)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "mpic maintainers <mpic@localhost>" CACHE STRING "Maintainer field of the packages")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from the libraries the binaries link (dpkg-shlibdeps, from dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_NAME mpic-orchestrator)
set(CPACK_COMPONENT_ORCHESTRATOR_DESCRIPTION "Open MPIC API server (multi-perspective issuance corroboration)
mpic-orchestrator serves the Open MPIC API to a Certificate Authority: it picks cohorts of
remote network perspectives, calls their mpic-agent over mutual TLS, applies the quorum and
the CA/Browser Forum BR 3.2.2.9 phase in force, and keeps an audit log.")
set(CPACK_DEBIAN_ORCHESTRATOR_PACKAGE_CONTROL_EXTRA
    "${PROJECT_BINARY_DIR}/packaging/orchestrator/postinst;${PROJECT_BINARY_DIR}/packaging/orchestrator/prerm;${PROJECT_BINARY_DIR}/packaging/orchestrator/postrm")

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME mpic-agent)
set(CPACK_COMPONENT_AGENT_DESCRIPTION "Open MPIC remote network perspective
mpic-agent runs CAA checks and domain control validations from one network perspective for
mpic-orchestrator, over mutual TLS, with a DNSSEC-validating resolver of its own.")
# A validating recursive resolver on the same host (the agent's configuration names it).
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "unbound")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    "${PROJECT_BINARY_DIR}/packaging/agent/postinst;${PROJECT_BINARY_DIR}/packaging/agent/prerm;${PROJECT_BINARY_DIR}/packaging/agent/postrm")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME mpic-cli)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION utils)
set(CPACK_COMPONENT_CLI_DESCRIPTION "Open MPIC command-line client
mpic sends CAA and domain control validation requests to an Open MPIC server and prints the
perspectives' results and the verdict.")

include(CPack)
