# Config shared by the three servers of deploy/docker-compose.yml.
# Flags in the compose file add node name, advertise address and joins.
server {
  enabled          = true
  bootstrap_expect = 3
  epoch            = "5s"    # a plan every 5 s: something to see in the first minute (5m on real clusters)
  # Failover timing (see docs/BENCHMARKS.md "## Failover" and cluster/DESIGN.md):
  # a follower notices a dead leader after 1 to 2 heartbeats; 500 ms keeps a
  # new leader within about 1 s and the next plan within 1.5 s of a kill,
  # while a busy 2-core host does not trigger spurious elections.
  raft_heartbeat   = "500ms"
  raft_election    = "500ms"
  # Membership: a new server is a non-voter until it has been alive this long.
  server_stabilization_time = "10s"
  # A failed server stays in the Raft configuration (marked failed) this long,
  # then is removed, never more than (voters-1)/2 at once nor below min_quorum.
  dead_server_grace = "5m"
  min_quorum        = 3
}
