# An example scenario: two nodes, four services replaying the NAB
# CloudWatch traces bundled with the demo (demo/data, MIT licence).
name        = "example"
epoch       = "5m"
days        = 2
warmup_days = 2
contention  = [0.8, 1.0, 1.2]
trace_dir   = "../../demo/data"
nodes       = ["node-1", "node-2"]

service "web" {
  class = "critical"
  node  = "node-1"
  min { cpu = "100m" }
  series "cpu" {
    file  = "ec2_cpu_utilization_5f5533.csv"
    scale = 10 # percent of a core -> millicores
  }
  series "net" {
    file = "ec2_network_in_257a54.csv"
    p95  = "200Mbit"
  }
}

service "api" {
  class = "standard"
  node  = "node-1"
  series "cpu" {
    file = "ec2_cpu_utilization_825cc2.csv"
    p95  = "1.5"
  }
}

service "search" {
  class = "standard"
  node  = "node-2"
  series "cpu" {
    file   = "ec2_cpu_utilization_ac20cd.csv"
    p95    = "2"
    offset = 288
  }
}

service "batch" {
  class = "batch"
  node  = "node-2"
  series "cpu" {
    file = "rds_cpu_utilization_cc0c53.csv"
    p95  = "1"
  }
}

breach {
  service  = "web"
  start    = "20h"
  duration = "2h"
  factor   = 1.8
}
