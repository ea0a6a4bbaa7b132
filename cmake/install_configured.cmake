# install_configured.cmake - run by `cmake --install` (install(CODE) in
# CMakeLists.txt): writes the files that name installed paths (the apt
# snippet, gated's unit) from their templates at install time, so that they
# name the prefix given to `cmake --install --prefix P`, not the one of
# configure time. file(INSTALL) adds DESTDIR and records the file in
# install_manifest.txt like every other installed file.
#
# In: GATE_TEMPLATE, GATE_OUT_NAME, GATE_DEST_KIND (sysconf or prefix),
# GATE_DEST_SUBDIR, GATE_BINDIR_REL, GATE_SBINDIR_REL, GATE_SYSCONFDIR_REL,
# GATE_STAGE (a folder of the build tree).

# A GNUInstallDirs directory at install time: absolute as given, else under
# the prefix; SYSCONFDIR of the prefix /usr is /etc (as GNUInstallDirs has
# it at configure time).
function(gate_install_dir rel kind out)
  if(IS_ABSOLUTE "${rel}")
    set(${out} "${rel}" PARENT_SCOPE)
  elseif(kind STREQUAL "sysconf" AND CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(${out} "/${rel}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${rel}" PARENT_SCOPE)
  endif()
endfunction()

gate_install_dir("${GATE_BINDIR_REL}" bin BINDIR)
gate_install_dir("${GATE_SBINDIR_REL}" bin SBINDIR)
if(GATE_DEST_KIND STREQUAL "sysconf")
  gate_install_dir("${GATE_SYSCONFDIR_REL}" sysconf base)
else()
  set(base "${CMAKE_INSTALL_PREFIX}")
endif()
configure_file("${GATE_TEMPLATE}" "${GATE_STAGE}/${GATE_OUT_NAME}" @ONLY)
file(INSTALL DESTINATION "${base}/${GATE_DEST_SUBDIR}" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     FILES "${GATE_STAGE}/${GATE_OUT_NAME}")
