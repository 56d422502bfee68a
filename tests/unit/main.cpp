// The one doctest main of btvm-unit; the tests live in files named after the part they test.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
