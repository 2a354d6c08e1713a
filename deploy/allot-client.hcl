# Config shared by the clients of deploy/docker-compose.yml.
client {
  enabled = true
  enforce = "none"   # no cgroup services here; use "auto" on real nodes
  # the loadgen containers of the compose file, through the host's Docker socket
  docker { enabled = true }
}
