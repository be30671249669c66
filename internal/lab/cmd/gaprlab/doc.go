// Gaprlab brings the project's network lab (package internal/lab) up and down
// from the shell, runs commands in its client namespace and drives its
// controls, for the demo and for poking at the lab by hand. It needs root.
//
// Usage:
//
//	gaprlab up [-name N] [-rtt0 D] [-rtt1 D]   bring up (replacing a lab of that name), print the facts
//	gaprlab down [-name N]                      tear down
//	gaprlab info [-name N] [-json]              print the facts
//	gaprlab exec [-name N] -- CMD ARGS...       run CMD in the client namespace
//	gaprlab ctl [-name N] CONTROL ARGS...       change a control:
//	    rtt UPLINK DURATION | blackhole|cut|cutkeep|ingress UPLINK on|off |
//	    move UPLINK away|home |
//	    policy|nat44|nptv6|nat64|dns64 on|off | families v4|v6|both |
//	    pref64 UPLINK PREFIX LIFETIME | addaddr|deladdr UPLINK PREFIX | restore
//
// The default name is "demo": namespaces gapr-demo-*. "up" starts a daemon
// (gaprlab daemon) that holds the relays, servers and DNS and runs until
// "down"; it returns once the lab is usable. The daemon logs to
// /run/getapr-lab/NAME.log.
package main
