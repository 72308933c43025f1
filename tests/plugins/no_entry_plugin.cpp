// A shared object that is not a cppd plugin: no CPPD_PLUGIN, so neither stamp nor factory.
extern "C" __attribute__((visibility("default"))) int cppd_test_not_a_plugin() { return 42; }
