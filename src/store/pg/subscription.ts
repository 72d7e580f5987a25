import type pg from "pg";
import { sleep } from "../../util/sleep.js";
import { guardListener } from "../subscriber.js";
import { ClosingClient, endWithin } from "./client.js";
import { explainPgError } from "./config.js";
import { LATEST_CHANNEL } from "./statements.js";

/**
 * A run's changes are announced (NOTIFY, no payload) on the run's own channel, `runs.channel`: a name no
 * one can guess, readable only by those who may see the run (row-level security). Any role may LISTEN on
 * any channel, so a channel shared by all runs, or a payload, would tell every role of every run.
 */
const CHANNEL_NAME = /^pp_[0-9a-f]{32}$/;

/**
 * How often a live LISTEN connection is asked whether it still answers, and how long for: a connection
 * that a load balancer, a NAT or a failover dropped without a word (or a frozen server) would otherwise
 * leave the subscriber waiting for notifications that never come, while its view says "live".
 */
const HEALTH_EVERY_MS = 10_000;
const HEALTH_ANSWER_MS = 5000;

/** What a subscription needs of its store. */
export interface SubscriptionHost {
  /** The store's connection settings: a subscription LISTENs on a connection of its own. */
  readonly config: pg.ClientConfig;
  readonly epicId: string;
  /** Where the database is, for messages (no password). */
  readonly where: string;
  /** The store's live LISTEN connections, which its close ends. */
  readonly listeners: Set<ClosingClient>;
  /** The store is closed: the subscription ends too. */
  closed(): boolean;
  /** A read of the run (the schema, migrated if this is the database's first use). */
  read(): Promise<unknown>;
}

/**
 * Calls `listener` after every committed change of this epic, from any machine: LISTEN, on a connection of
 * its own, on the channel of the epic's latest run that this role may see. When a new run replaces it, the
 * old run's channel says so (payload `replaced`) and the subscription moves to the new run's. While the
 * role sees no run of the epic (none yet, or the new run is one it may not see), it looks for one every
 * half second. A run it stops seeing (its grant revoked) is still listened on: its reader reads it again
 * until it sees it (serve's LiveRun). A dropped connection is re-established and the listener called once
 * (a change may have been missed meanwhile). A listener that throws does not stop any of it (guardListener).
 */
export async function subscribeToEpic(
  host: SubscriptionHost,
  given: () => void,
): Promise<() => Promise<void>> {
  const listener = guardListener(given);
  let client: ClosingClient | null = null;
  let stopped = false;
  let reconnecting = false;
  let looking: NodeJS.Timeout | null = null;
  /**
   * A connection being made (a reconnection): the stop function closes its socket, which would otherwise
   * keep the process alive until its connect timeout on a database that stopped answering (a frozen host).
   */
  let connecting: ClosingClient | null = null;
  /** Aborted by the stop function: a reconnection's wait ends at once, leaving no timer behind. */
  const stopping = new AbortController();
  const over = () => stopped || host.closed();
  const stopLooking = () => {
    if (looking) clearInterval(looking);
    looking = null;
  };
  const connect = async (): Promise<void> => {
    const next = new ClosingClient(host.config);
    let live = false;
    let health: NodeJS.Timeout | undefined;
    /** The channel LISTENed on (null: no run visible yet). */
    let listening: string | null = null;
    let following: Promise<boolean> = Promise.resolve(false);
    /** LISTEN on the latest run's channel, if it is not the one listened on; true when it changed. */
    const follow = () => {
      following = following.then(async () => {
        const channel = await latestChannel(next, host.epicId);
        if (channel === listening) return false;
        if (channel) await next.query(`LISTEN ${channel}`);
        if (listening) await next.query(`UNLISTEN ${listening}`);
        listening = channel;
        if (channel) stopLooking();
        return true;
      });
      return following;
    };
    /** While the role sees no run of the epic: a look for one every half second, until one is seen. */
    const lookForRun = () => {
      if (looking || over()) return;
      looking = setInterval(() => {
        follow().then((found) => found && !over() && listener(), ignore);
      }, 500);
      looking.unref();
    };
    next.on("notification", (message) => {
      if (message.channel !== listening) return;
      listener();
      if (message.payload !== "replaced") return;
      follow().then(
        (moved) => {
          if (over()) return;
          // The new run is one the role may not see (its grant revoked): it is looked for until it can.
          if (listening === null) lookForRun();
          else if (moved) listener();
        },
        ignore, // the connection went away: its end reconnects
      );
    });
    // Only the live connection's end starts a reconnection (one at a time): a failed attempt's does not.
    next.on("end", () => {
      host.listeners.delete(next);
      clearInterval(health);
      if (live && client === next) {
        client = null;
        stopLooking();
        if (over()) return;
        // A read now tells the subscriber whether the database went away (serve shows the page why).
        listener();
        void reconnect();
      }
    });
    connecting = next;
    // The store's close() ends it too, while it connects: a serve stopped during its start-up on a
    // database that does not answer waits no connect timeout.
    host.listeners.add(next);
    try {
      await next.connect();
      await follow();
    } catch (error) {
      host.listeners.delete(next);
      await endWithin(next);
      throw error;
    } finally {
      connecting = null;
    }
    if (over()) {
      host.listeners.delete(next);
      await endWithin(next);
      return;
    }
    live = true;
    client = next;
    // A connection that does not answer in time is ended: its end reconnects (and tells the subscriber).
    health = setInterval(() => {
      // pg takes a query's own answer wait (query_timeout) but its types do not say so.
      const ping = { text: "SELECT 1", query_timeout: HEALTH_ANSWER_MS } as pg.QueryConfig;
      next.query(ping).catch(() => next.closeSocket());
    }, HEALTH_EVERY_MS);
    health.unref();
    if (listening === null) lookForRun();
  };
  const reconnect = async (): Promise<void> => {
    if (reconnecting) return;
    reconnecting = true;
    try {
      // Until the subscription ends: a database down for longer is still followed once it is back.
      for (let attempt = 0; !over(); attempt++) {
        await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)), stopping.signal);
        if (over()) return;
        try {
          await connect();
          if (!over()) listener(); // a change may have been missed meanwhile
          return;
        } catch {
          // Still down: try again.
        }
      }
    } finally {
      reconnecting = false;
    }
  };
  try {
    await host.read(); // the schema, migrated if this is the database's first use
    await connect();
  } catch (error) {
    throw explainPgError(error, host.where);
  }
  return async () => {
    stopped = true;
    stopping.abort();
    stopLooking();
    connecting?.closeSocket();
    const current = client;
    client = null;
    if (current) {
      host.listeners.delete(current);
      await endWithin(current);
    }
  };
}

const ignore = () => undefined;

/** The channel of the epic's latest run that the connection's role may see, or null. */
async function latestChannel(client: pg.Client, epicId: string): Promise<string | null> {
  const { rows } = await client.query<{ channel: string }>(LATEST_CHANNEL, [epicId]);
  const channel = rows[0]?.channel ?? null;
  // Our own format, checked before it becomes part of a statement (LISTEN takes no parameters).
  return channel !== null && CHANNEL_NAME.test(channel) ? channel : null;
}
