// The kinds of the wheel's events (wheel.ts keeps a kind as a u8 and knows none of them):
// one list, so no two modules take the same number.

/** A delayed duplicate segment (other segments wait in their direction's queue, net.ts). */
export const EV_SEGMENT: u32 = 0;
/** A socket's retransmission, TIME_WAIT or FIN_WAIT_2 timer (tcp.ts). */
export const EV_TIMER: u32 = 1;
/** A workload's next arrival (apps.ts). */
export const EV_ARRIVAL: u32 = 2;
/** A listener's stop, bind or accept (tcp.ts); gen: LISTENER_STOP, LISTENER_BIND or LISTENER_ACCEPT. */
export const EV_LISTENER: u32 = 3;
/** A socket's delayed-ACK timer (delack.ts). */
export const EV_DACK: u32 = 4;
/** A server application's delayed close() (apps.ts closeDue). */
export const EV_CLOSE: u32 = 5;
/** A conntrack entry's timeout (nat/conntrack.ts). */
export const EV_CONNTRACK: u32 = 6;
/** The end of a client's hold after its response (apps.ts); gen: the connection. */
export const EV_HOLD: u32 = 7;
