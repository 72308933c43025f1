#pragma once

// Symbols of libcppd are hidden by default (-fvisibility=hidden); CPPD_API marks what the SDK exports.
// Interface classes carry it too, so their type_info and vtables are shared by the runner and every
// plugin (exceptions and dynamic_cast then work across the library boundary).
#define CPPD_API __attribute__((visibility("default")))
