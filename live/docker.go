package live

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// labelRun marks everything a live run creates (value: the run's id), so
// that cleanup finds it again, also after an interrupted run.
const labelRun = "allot.live"

// engine is the part of the Docker SDK the harness uses.
type engine struct{ c *client.Client }

func newEngine(ctx context.Context) (*engine, error) {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return nil, fmt.Errorf("docker: the Engine does not answer (is it running, are you root?): %w", err)
	}
	return &engine{c: c}, nil
}

// network creates a bridge network on the first free 172.30.N.0/24 and
// returns its name, subnet and gateway.
func (e *engine) network(ctx context.Context, name, run string) (netip.Prefix, error) {
	var last error
	for n := 100; n < 200; n++ {
		sub := netip.MustParsePrefix(fmt.Sprintf("172.30.%d.0/24", n))
		gw := netip.MustParseAddr(fmt.Sprintf("172.30.%d.1", n))
		_, err := e.c.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: "bridge", Labels: map[string]string{labelRun: run},
			IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: sub, Gateway: gw}}}})
		if err == nil {
			return sub, nil
		}
		last = err
		if !strings.Contains(err.Error(), "overlap") && !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	return netip.Prefix{}, fmt.Errorf("creating network %s: %w", name, last)
}

// spec is a container to run.
type spec struct {
	Name         string
	Image        string
	Cmd          []string
	Labels       map[string]string
	Network      string     // "" = none
	IP           netip.Addr // on Network
	Binds        []string
	CgroupParent string
	Restart      bool // restart on failure (an OOM kill), like a real service
}

func (e *engine) run(ctx context.Context, s spec) (string, error) {
	hc := &container.HostConfig{Binds: s.Binds, Resources: container.Resources{CgroupParent: s.CgroupParent}, NetworkMode: "none"}
	if s.Restart {
		hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 1000}
	}
	var nc *network.NetworkingConfig
	if s.Network != "" {
		hc.NetworkMode = container.NetworkMode(s.Network)
		nc = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.Network: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: s.IP}}}}
	}
	r, err := e.c.ContainerCreate(ctx, client.ContainerCreateOptions{Name: s.Name, Config: &container.Config{Image: s.Image, Cmd: s.Cmd, Labels: s.Labels},
		HostConfig: hc, NetworkingConfig: nc})
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", s.Name, err)
	}
	if _, err := e.c.ContainerStart(ctx, r.ID, client.ContainerStartOptions{}); err != nil {
		return "", fmt.Errorf("starting container %s: %w", s.Name, err)
	}
	return r.ID, nil
}

func (e *engine) inspect(ctx context.Context, id string) (container.InspectResponse, error) {
	r, err := e.c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return r.Container, err
}

// logs reads a container's stdout line by line.
func (e *engine) logs(ctx context.Context, id string, line func(string)) error {
	rc, err := e.c.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true})
	if err != nil {
		return err
	}
	defer rc.Close()
	pr, pw := io.Pipe()
	go func() { _, err := stdcopy.StdCopy(pw, io.Discard, rc); pw.CloseWithError(err) }()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line(sc.Text())
	}
	return sc.Err()
}

func (e *engine) kill(ctx context.Context, id string) error {
	_, err := e.c.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "SIGKILL"})
	return err
}

// events follows the run's containers' oom and die events until ctx ends.
func (e *engine) events(ctx context.Context, run string, ev func(events.Message)) {
	f := client.Filters{}
	f.Add("label", labelRun+"="+run)
	f.Add("type", "container")
	r := e.c.Events(ctx, client.EventsListOptions{Filters: f})
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-r.Messages:
			ev(m)
		case <-r.Err:
			return
		}
	}
}

// cleanup removes every container and network labelled with the live
// label (any run: leftovers of an interrupted one go too).
func (e *engine) cleanup(ctx context.Context) error {
	f := client.Filters{}
	f.Add("label", labelRun)
	cs, err := e.c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("listing live containers: %w", err)
	}
	var errs []error
	for _, c := range cs.Items {
		if _, err := e.c.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, err)
		}
	}
	ns, err := e.c.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, n := range ns.Items {
		if _, err := e.c.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
