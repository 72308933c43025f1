// cppd: loads a service plugin and runs its service, like twistd. Everything happens in the runner library;
// this file only hands over the command line (see runner/command_line.hpp for the flow).

#include "options/command_line.hpp"

int main(int argc, char** argv) { return cppd::runner::runCommandLine(argc, argv); }
