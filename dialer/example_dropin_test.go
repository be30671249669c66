package dialer_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/getapr/getapr/dialer"
)

// Multipath TCP (RFC 8684) on a multi-homed host: every attempt asks for
// MPTCP. The attempt that wins opens the first subflow over its own (source,
// destination) pair, the one that answered first; the kernel's path manager
// may then add subflows over the host's other addresses (for example after
// "ip mptcp endpoint add ADDR dev IF subflow" for each uplink's address), so
// the connection survives the loss of the first uplink. Where the kernel or
// the server lacks MPTCP, the attempts are plain TCP.
func ExamplePairDialer_SetMultipathTCP() {
	var lc net.ListenConfig
	lc.SetMultipathTCP(true)
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			io.WriteString(c, "hello over MPTCP, or TCP\n")
			c.Close()
		}
	}()

	sel := loopbackOnly()
	defer sel.Close()
	d := &dialer.PairDialer{Selector: sel}
	d.SetMultipathTCP(true)
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println("MPTCP asked:", d.MultipathTCP())
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(line)
	// Output:
	// MPTCP asked: true
	// hello over MPTCP, or TCP
}
