package dialer

// BindAddressNoPort exports bindAddressNoPort to the external tests.
var BindAddressNoPort = bindAddressNoPort
