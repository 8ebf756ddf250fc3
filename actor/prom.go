package actor

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collector returns a prometheus.Collector of sys's processes, read at each
// scrape (one walk of the live processes), labelled with the service and
// instance that own each supervision tree:
//
//   - troupe_actor_processes: live processes;
//   - troupe_actor_mailbox_messages: messages waiting in their mailboxes
//     (an estimate, see Inspect), and troupe_actor_mailbox_messages_max,
//     the longest mailbox;
//   - troupe_actor_crashes_total and troupe_actor_restarts_total: crashes
//     of the tree's processes and restarts by its supervisors;
//   - troupe_actor_dead_letters_total, unlabelled: messages that could not
//     be delivered.
//
// owner maps a tree's name (see TreeStats.Name) to its service and
// instance; the trees it does not know (ok false) are summed under empty
// labels: the node's own processes. A nil owner labels every tree with its
// name as the instance. Register it once per registry.
func Collector(sys *System, owner func(tree string) (service, instance string, ok bool)) prometheus.Collector {
	return &collector{sys: sys, owner: owner}
}

type collector struct {
	sys   *System
	owner func(string) (string, string, bool)
}

var (
	treeLabels      = []string{"service", "instance"}
	promProcesses   = prometheus.NewDesc("troupe_actor_processes", "Live processes in a supervision tree.", treeLabels, nil)
	promMailbox     = prometheus.NewDesc("troupe_actor_mailbox_messages", "Messages waiting in the mailboxes of a supervision tree's processes (estimated).", treeLabels, nil)
	promMailboxMax  = prometheus.NewDesc("troupe_actor_mailbox_messages_max", "Messages waiting in the longest mailbox of a supervision tree (estimated).", treeLabels, nil)
	promCrashes     = prometheus.NewDesc("troupe_actor_crashes_total", "Crashes (recovered panics) of a supervision tree's processes.", treeLabels, nil)
	promRestarts    = prometheus.NewDesc("troupe_actor_restarts_total", "Restarts of children by a supervision tree's supervisors.", treeLabels, nil)
	promDeadLetters = prometheus.NewDesc("troupe_actor_dead_letters_total", "Messages that could not be delivered: to an exited process, to a full mailbox, or left in a mailbox at exit.", nil, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{promProcesses, promMailbox, promMailboxMax, promCrashes, promRestarts, promDeadLetters} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	type key struct{ service, instance string }
	sums := map[key]*TreeStats{}
	for _, t := range c.sys.Trees() {
		k := key{instance: t.Name}
		if c.owner != nil {
			s, i, ok := c.owner(t.Name)
			if !ok {
				s, i = "", ""
			}
			k = key{s, i}
		}
		sum := sums[k]
		if sum == nil {
			sum = &TreeStats{}
			sums[k] = sum
		}
		sum.Processes += t.Processes
		sum.Mailbox += t.Mailbox
		sum.MaxQueue = max(sum.MaxQueue, t.MaxQueue)
		sum.Crashes += t.Crashes
		sum.Restarts += t.Restarts
	}
	for k, t := range sums {
		ch <- prometheus.MustNewConstMetric(promProcesses, prometheus.GaugeValue, float64(t.Processes), k.service, k.instance)
		ch <- prometheus.MustNewConstMetric(promMailbox, prometheus.GaugeValue, float64(t.Mailbox), k.service, k.instance)
		ch <- prometheus.MustNewConstMetric(promMailboxMax, prometheus.GaugeValue, float64(t.MaxQueue), k.service, k.instance)
		ch <- prometheus.MustNewConstMetric(promCrashes, prometheus.CounterValue, float64(t.Crashes), k.service, k.instance)
		ch <- prometheus.MustNewConstMetric(promRestarts, prometheus.CounterValue, float64(t.Restarts), k.service, k.instance)
	}
	ch <- prometheus.MustNewConstMetric(promDeadLetters, prometheus.CounterValue, float64(c.sys.DeadLetters()))
}
