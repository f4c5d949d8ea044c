// Command netpol enforces NetworkPolicy on scripts/cluster.sh's cluster with the controller of
// sigs.k8s.io/kube-network-policies (the version go.mod pins): its informers, its NetworkPolicy evaluation and its
// verdicts on the packets of an nfqueue. Test infrastructure only: nothing of it is in davit.
//
// Why a main of our own rather than the module's cmd/main.go (v0.8.0):
//   - that one takes its credentials only from inside a pod (rest.InClusterConfig: a token file at a fixed path);
//     this one runs on the host with a kubeconfig, as the agent-sandbox controller does.
//   - one controller for the host, not one per node: the nodes share the host's network namespace, so one set of
//     netfilter hooks sees every pod's packets, and the controller's verdict (the egress policies of the source pod,
//     the ingress policies of the destination pod) reads every node's pods from the API server. Two controllers
//     would also fight over the one nftables table name and queue its cmd gives them.
//   - which packets reach the queue is scripts/cluster.sh's (iptables' NFQUEUE target): the controller's own
//     nftables rules use nftables' queue expression, which the kernel here lacks (CONFIG_NFT_QUEUE unset, no
//     modules to load), so it cannot install them; it logs that and goes on deciding the queue's packets. Its node
//     name (--node) only chooses which pods its own rules would have sent; cluster.sh names none of the nodes, so
//     on a kernel that has the expression its rules send nothing and every packet is queued once, by cluster.sh's.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "the kubeconfig of the cluster")
	queue := flag.Int("nfqueue-id", 100, "the nfqueue whose packets this decides")
	node := flag.String("node", "", "the node name whose pods the controller's own nftables rules would select")
	table := flag.String("nftables-table", "davit-netpol", "the name of the controller's own nftables table")
	klog.InitFlags(nil)
	flag.Parse()
	if *kubeconfig == "" || *node == "" {
		fmt.Fprintln(os.Stderr, "usage: netpol --kubeconfig FILE --node NAME [--nfqueue-id N] [--nftables-table NAME] [-v N]")
		os.Exit(2)
	}
	// v0.8.0 looks a packet's address up in its NRI plugin when no pod in the API server has it, and that plugin is
	// nil when NRI is disabled (a crash on the first packet to a node address). So NRI stays on, but can never
	// connect: a non-numeric NRI_PLUGIN_SOCKET makes its connect fail at once, so it never registers with some
	// other containerd's NRI socket on this machine (our containerds, 1.6, have none).
	os.Setenv("NRI_PLUGIN_SOCKET", "none")

	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Fatalf("reading the kubeconfig %s: %v", *kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		klog.Fatalf("making the client: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	factory := informers.NewSharedInformerFactory(client, 0)
	controller, err := networkpolicy.NewController(client,
		factory.Networking().V1().NetworkPolicies(), factory.Core().V1().Namespaces(), factory.Core().V1().Pods(),
		nil, nil, nil, nil, // no AdminNetworkPolicy, no BaselineAdminNetworkPolicy
		networkpolicy.Config{
			QueueID:     *queue,
			NodeName:    *node,
			NFTableName: *table,
			// The kernel here is newer than 6.12, which fixed the conntrack race this works around; and no DNS.
			NetfilterBug1766Fix: false,
			FailOpen:            false, // a packet nobody decides is dropped: the queue has no bypass
		})
	if err != nil {
		klog.Fatalf("making the network policy controller: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- controller.Run(ctx) }()
	factory.Start(ctx.Done())
	select {
	case <-ctx.Done():
		<-done // Run removes its table (if it made one) and closes the queue before it returns
	case err := <-done:
		klog.Fatalf("the network policy controller ended: %v", err)
	}
}
