# Helpers for the project's own targets: each is compiled with ${SB_WARNINGS} (warnings are errors),
# which generated code (sb_proto) is not. Settings beyond these (public include directories,
# extra sources, output directories) stay as calls after the helper.
include(GoogleTest)

# Every target of the helpers below is listed, with its folder, in ${CMAKE_BINARY_DIR}/sb_modules.tsv
# (sb_write_module_map, at the end of the top-level CMakeLists.txt), which tools/check/deps.py
# reads to hold each file to the modules its target links.
function(sb_register_module NAME)
  set_property(GLOBAL APPEND PROPERTY SB_MODULES ${NAME})
  file(RELATIVE_PATH dir ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  set_target_properties(${NAME} PROPERTIES SB_DIR "${dir}")
endfunction()

# One line per target: name, type, folder, sources, direct link dependencies (;-lists).
function(sb_write_module_map)
  get_property(modules GLOBAL PROPERTY SB_MODULES)
  set(lines "")
  foreach(m ${modules})
    get_target_property(dir ${m} SB_DIR)
    string(APPEND lines "${m}\t$<TARGET_PROPERTY:${m},TYPE>\t${dir}\t"
           "$<TARGET_PROPERTY:${m},SOURCES>\t"
           "$<TARGET_PROPERTY:${m},LINK_LIBRARIES>\n")
  endforeach()
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/sb_modules.tsv CONTENT "${lines}")
endfunction()

# sb_library(NAME SOURCES <srcs...> [DEPS <public deps...>] [PRIVATE_DEPS <private deps...>])
# A static library; DEPS are linked PUBLIC, PRIVATE_DEPS PRIVATE.
function(sb_library NAME)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS")
  if(ARG_UNPARSED_ARGUMENTS OR NOT ARG_SOURCES)
    message(FATAL_ERROR
            "sb_library(${NAME}): SOURCES required; unexpected: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  add_library(${NAME} STATIC ${ARG_SOURCES})
  sb_register_module(${NAME})
  if(ARG_DEPS OR ARG_PRIVATE_DEPS)
    target_link_libraries(${NAME} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  endif()
  target_compile_options(${NAME} PRIVATE ${SB_WARNINGS})
endfunction()

# sb_executable(NAME SOURCES <srcs...> [DEPS <deps...>] [INCLUDES <dirs...>])
# An executable (tool, benchmark, test helper); DEPS are linked PRIVATE, INCLUDES are private
# include directories.
function(sb_executable NAME)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;DEPS;INCLUDES")
  if(ARG_UNPARSED_ARGUMENTS OR NOT ARG_SOURCES)
    message(FATAL_ERROR
            "sb_executable(${NAME}): SOURCES required; unexpected: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  add_executable(${NAME} ${ARG_SOURCES})
  sb_register_module(${NAME})
  if(ARG_INCLUDES)
    target_include_directories(${NAME} PRIVATE ${ARG_INCLUDES})
  endif()
  if(ARG_DEPS)
    target_link_libraries(${NAME} PRIVATE ${ARG_DEPS})
  endif()
  target_compile_options(${NAME} PRIVATE ${SB_WARNINGS})
endfunction()

# sb_test(NAME SOURCES <srcs...> DEPS <deps...> [LABEL unit|integration] [INCLUDES <dirs...>]
#         [PROPERTIES <test properties...>])
# A GoogleTest executable (sb_executable) whose tests ctest discovers after the build, labelled
# LABEL (default unit); PROPERTIES are further properties of every discovered test (TIMEOUT 300).
function(sb_test NAME)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "LABEL" "SOURCES;DEPS;INCLUDES;PROPERTIES")
  if(ARG_UNPARSED_ARGUMENTS OR NOT ARG_SOURCES OR NOT ARG_DEPS)
    message(FATAL_ERROR
            "sb_test(${NAME}): SOURCES and DEPS required; unexpected: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  sb_executable(${NAME} SOURCES ${ARG_SOURCES} DEPS ${ARG_DEPS} INCLUDES ${ARG_INCLUDES})
  gtest_discover_tests(${NAME} PROPERTIES LABELS ${ARG_LABEL} ${ARG_PROPERTIES}
                       DISCOVERY_TIMEOUT 60)
endfunction()
