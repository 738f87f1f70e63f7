package localstack

import (
	"crypto/sha256"
	"fmt"
	"os/exec"
	"strings"
)

// netns is a test host: a network namespace joined to the host by a veth pair.
// Traffic to GuestIP goes only through that pair, never off the machine.
type netns struct {
	Name    string
	HostIP  string // host end of the veth pair
	GuestIP string // the test host's address, inside the namespace
}

// createNetns makes the idx-th test host of the stack in dir. Names and the
// /30 subnet derive from dir so that two stacks on one machine do not collide.
func createNetns(dir string, idx int, cluster string) (netns, error) {
	h := sha256.Sum256([]byte(dir))
	id := fmt.Sprintf("%x%d", h[:3], idx)
	third := int(h[3])
	ns := netns{
		Name:    "hr-" + id + "-" + cluster,
		HostIP:  fmt.Sprintf("10.251.%d.%d", third, idx*4+1),
		GuestIP: fmt.Sprintf("10.251.%d.%d", third, idx*4+2),
	}
	hostIf, guestIf := "hr"+id+"h", "hr"+id+"g"
	_ = deleteNetns(ns.Name) // a leftover from a crashed run
	steps := [][]string{
		{"netns", "add", ns.Name},
		{"link", "add", hostIf, "type", "veth", "peer", "name", guestIf},
		{"link", "set", guestIf, "netns", ns.Name},
		{"addr", "add", ns.HostIP + "/30", "dev", hostIf},
		{"link", "set", hostIf, "up"},
		{"netns", "exec", ns.Name, "ip", "addr", "add", ns.GuestIP + "/30", "dev", guestIf},
		{"netns", "exec", ns.Name, "ip", "link", "set", guestIf, "up"},
		{"netns", "exec", ns.Name, "ip", "link", "set", "lo", "up"},
	}
	for _, args := range steps {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			_ = deleteNetns(ns.Name)
			return ns, fmt.Errorf("ip %s: %w: %s (network namespaces need root and iproute2)",
				strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return ns, nil
}

// deleteNetns removes a namespace and with it its end of the veth pair, which
// takes the host end too. A namespace that does not exist is not an error.
func deleteNetns(name string) error {
	out, err := exec.Command("ip", "netns", "del", name).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "No such file") {
		return fmt.Errorf("ip netns del %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
