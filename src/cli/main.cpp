// turnpike: the client tools bundled with turnpiked (in the spirit of coturn's turnutils_*):
//   turnpike stun   STUN Binding requests (mapped address, RTT)
//   turnpike creds  TURN REST credentials minted offline from the shared secret
//   turnpike peer   a UDP echo peer for relay tests
//   turnpike load   a TURN load generator: N allocations relaying to an echo peer
// GCC 12 reports a false -Wnull-dereference inside CLI11's string splitting when it inlines
// App::parse into main(); the header is not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include <array>
#include <csignal>
#include <cstdio>

#include "commands.h"

#ifndef TURNPIKE_VERSION
#define TURNPIKE_VERSION "0.1.0"
#endif

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed TCP/TLS connection is an error value, not a signal
  CLI::App app{"turnpike: STUN/TURN client tools for turnpiked (stun, creds, peer, load)",
               "turnpike"};
  app.set_version_flag("--version", std::string("turnpike ") + TURNPIKE_VERSION);
  app.require_subcommand(1);
  const std::array<turnpike::cli::Command, 4> commands = {
      turnpike::cli::add_stun_command(app), turnpike::cli::add_creds_command(app),
      turnpike::cli::add_peer_command(app), turnpike::cli::add_load_command(app)};
  CLI11_PARSE(app, argc, argv);
  for (const auto& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  std::fprintf(stderr, "turnpike: no subcommand (see --help)\n");
  return 2;
}
