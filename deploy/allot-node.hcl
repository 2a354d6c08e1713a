# A client node: measures, forecasts, bids for and enforces its services.
# Servers: add  server { enabled = true  bootstrap_expect = 3 }  on three nodes.
data_dir = "/var/lib/allot"
join     = ["10.0.0.11", "10.0.0.12", "10.0.0.13"]   # the servers' gossip addresses

client {
  enabled       = true
  enforce       = "auto"            # cgroup v2 if the unified hierarchy has cpu+memory, else v1
  cgroup_parent = "/allot"
  io_devices    = ["8:0"]           # MAJ:MIN of the disks io limits apply to (lsblk)
  docker { enabled = true  socket = "/var/run/docker.sock" }   # labelled containers (docs/RUNTIMES.md)
}

# A service run by hand or by systemd in the cgroup /allot/checkout (every hierarchy on v1).
service "checkout" {
  class     = "critical"
  cgroup    = "checkout"
  interface = "veth-checkout"       # optional: its egress is shaped with tc HTB
  min { cpu = "250m"  memory = "256MiB" }
  max { cpu = "4"     memory = "8GiB"  io = "200MiB/s"  net = "500Mbit" }
}
