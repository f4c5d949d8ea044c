// Command kube is the Kubernetes control plane, node agent and client that scripts/cluster.sh runs for davit's tests:
// kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kubectl, built from k8s.io/kubernetes at the
// version go.mod pins, in one binary (as k3s links them) so the packages they share are linked once. The first
// argument names the component; the rest are its own flags. Test infrastructure only: nothing of it is in davit.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"          // the components' --logging-format=json, as their own mains register it
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client metrics, as their own mains register them
	_ "k8s.io/component-base/metrics/prometheus/version"  // the version metric, as their own mains register it
	kubectl "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
	_ "time/tzdata" // CronJob time zones, as kube-apiserver's and kube-controller-manager's mains link them
)

func main() {
	commands := map[string]func() *cobra.Command{
		"kube-apiserver":          apiserver.NewAPIServerCommand,
		"kube-controller-manager": controllermanager.NewControllerManagerCommand,
		"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
		"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	}
	if len(os.Args) < 2 || (commands[os.Args[1]] == nil && os.Args[1] != "kubectl") {
		fmt.Fprintln(os.Stderr, "usage: kube kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kubectl [flags]")
		os.Exit(2)
	}
	// Each command reads its arguments from os.Args as if it were its own binary (kubectl looks there for plugins
	// and its verbosity too), so the component's name becomes argv[0].
	os.Args = os.Args[1:]
	if os.Args[0] == "kubectl" {
		logs.GlogSetter(kubectl.GetLogVerbosity(os.Args)) //nolint:errcheck // as kubectl's main: verbosity before flags are parsed
		if err := cli.RunNoErrOutput(kubectl.NewDefaultKubectlCommand()); err != nil {
			kubectlutil.CheckErr(err)
		}
		return
	}
	os.Exit(cli.Run(commands[os.Args[0]]()))
}
