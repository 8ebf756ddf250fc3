# shellcheck shell=bash
# Sourced by bench/run.sh and bench/actorbench/run.sh.
#
# cpustat prints the machine's stolen and total CPU time so far (/proc/stat,
# in clock ticks; guest time is counted in user time already), and steal
# the percentage stolen between two such readings: on a virtual machine
# the hypervisor's other guests slow a step without raising the load
# average. Without /proc/stat the share is printed as -1 (unknown).
cpustat() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t; exit }' /proc/stat 2>/dev/null || echo "0 0"; }
steal() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]
		if (d <= 0) { print -1 } else { printf "%.1f", 100 * (y[1] - x[1]) / d } }'
}
