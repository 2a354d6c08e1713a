# Config shared by the clients of deploy/docker-compose.yml.
client {
  enabled = true
  enforce = "none"   # containers here do not own cgroups; use "auto" on real nodes
}
