"""Every Redis key name the project uses, under one prefix (``kefu`` unless configured)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "kefu"

    def conversation(self, conversation_id: str) -> str:
        """Hash: who owns the conversation (bot, queue, agent), its channel and open ticket."""
        return f"{self.prefix}:conv:{conversation_id}"

    def transcript(self, conversation_id: str) -> str:
        """Stream: every message of the conversation, customer, bot, agent and system."""
        return f"{self.prefix}:conv:{conversation_id}:log"

    def offered(self, conversation_id: str) -> str:
        """String: the buttons of the conversation's latest message that offered any, as JSON."""
        return f"{self.prefix}:conv:{conversation_id}:offered"

    def signals(self, conversation_id: str) -> str:
        """List: the signals of the conversation's recent customer messages, oldest first."""
        return f"{self.prefix}:conv:{conversation_id}:signals"

    def pending(self, conversation_id: str) -> str:
        """List: customer messages accepted and not yet answered by the bot, oldest first."""
        return f"{self.prefix}:conv:{conversation_id}:pending"

    def answering(self, conversation_id: str) -> str:
        """String with a TTL: the token of whoever is answering the pending messages."""
        return f"{self.prefix}:conv:{conversation_id}:answering"

    def failed_turns(self, message_id: str) -> str:
        """Counter with a TTL: how often Rasa failed to run a pending message."""
        return f"{self.prefix}:message:{message_id}:failed"

    def sent_message(self, conversation_id: str, sent_id: str) -> str:
        """String with a TTL: the stream id of the message a channel sent with this id."""
        return f"{self.prefix}:conv:{conversation_id}:sent:{sent_id}"

    @property
    def pending_conversations(self) -> str:
        """Set: conversations that have pending messages."""
        return f"{self.prefix}:pending"

    def ticket(self, ticket_id: str) -> str:
        """Hash: a ticket's state (status, agent, times, reason)."""
        return f"{self.prefix}:ticket:{ticket_id}"

    def packet(self, ticket_id: str) -> str:
        """String: the ticket's context packet as JSON, written once at handoff."""
        return f"{self.prefix}:ticket:{ticket_id}:packet"

    def notes(self, ticket_id: str) -> str:
        """List: agents' internal notes on a ticket (never shown to the customer)."""
        return f"{self.prefix}:ticket:{ticket_id}:notes"

    @property
    def all_tickets(self) -> str:
        """Sorted set: every ticket by opening time, for complaints and duty reports."""
        return f"{self.prefix}:tickets"

    @property
    def handover(self) -> str:
        """List: shift handover notes, newest last."""
        return f"{self.prefix}:handover"

    @property
    def ticket_sequence(self) -> str:
        return f"{self.prefix}:ticket:seq"

    @property
    def queue(self) -> str:
        """Sorted set of waiting ticket ids: priority first, then arrival."""
        return f"{self.prefix}:queue"

    def agent_tickets(self, agent: str) -> str:
        """Set: the open tickets an agent has claimed."""
        return f"{self.prefix}:agent:{agent}:tickets"

    @property
    def queue_announced(self) -> str:
        """Hash with a TTL: ticket id -> the place in line its customer was last told."""
        return f"{self.prefix}:queue-announced"

    @property
    def agents_online(self) -> str:
        """Sorted set: agent name -> until when they count as online (refreshed while their
        console is connected)."""
        return f"{self.prefix}:agents-online"

    @property
    def busy_agents(self) -> str:
        """Set: agents who hold at least one open ticket."""
        return f"{self.prefix}:agents:busy"

    @property
    def agents(self) -> str:
        """Hash: agent name -> account JSON (password hash, role, display name)."""
        return f"{self.prefix}:agents"

    def session(self, session_id: str) -> str:
        """String: an agent's login session as JSON."""
        return f"{self.prefix}:session:{session_id}"

    def login_failures(self, kind: str, digest: str) -> str:
        """Counter with a TTL: failed console logins for an account or from an address (kind),
        keyed by a digest of the name or address."""
        return f"{self.prefix}:login-failures:{kind}:{digest}"

    def restock(self, sku: str) -> str:
        """Hash: conversation id -> language, of customers waiting for a product to return."""
        return f"{self.prefix}:restock:{sku}"

    @property
    def outbox(self) -> str:
        """Stream (consumer group ``deliver``): the messaging-app conversations that have
        something new to deliver; an entry is acknowledged once it has been looked at."""
        return f"{self.prefix}:outbox"

    def delivered(self, conversation_id: str) -> str:
        """String: the transcript id of the last message delivered to the customer's app."""
        return f"{self.prefix}:conv:{conversation_id}:delivered"

    def delivering(self, conversation_id: str) -> str:
        """String with a TTL: the token of the process delivering the conversation's messages."""
        return f"{self.prefix}:conv:{conversation_id}:delivering"

    @property
    def outbox_retry(self) -> str:
        """Sorted set: conversation id -> when to try its delivery again (after a failure)."""
        return f"{self.prefix}:outbox:retry"

    @property
    def outbox_attempts(self) -> str:
        """Hash: conversation id -> failed delivery attempts in a row."""
        return f"{self.prefix}:outbox:attempts"

    def undelivered(self, conversation_id: str) -> str:
        """List: messages that could not be delivered to the customer's app, as JSON."""
        return f"{self.prefix}:conv:{conversation_id}:undelivered"

    def platform_token(self, platform: str) -> str:
        """String with a TTL: a platform's access token, shared by every kefu process."""
        return f"{self.prefix}:platform:{platform}:token"

    def platform_poller(self, platform: str) -> str:
        """String with a TTL: the token of the one kefu process polling a platform (Telegram
        answers a second poller with 409)."""
        return f"{self.prefix}:platform:{platform}:poller"

    def platform_offset(self, platform: str) -> str:
        """String: the next update a platform's long polling asks for (Telegram's offset)."""
        return f"{self.prefix}:platform:{platform}:offset"

    def platform_cursor(self, platform: str) -> str:
        """Hash: account -> where a platform's message sync goes on (WeCom's kf/sync_msg
        cursor per customer-service account; "" from the oldest message it keeps)."""
        return f"{self.prefix}:platform:{platform}:cursor"

    def platform_sync_token(self, platform: str, account: str) -> str:
        """String with a TTL: the token of the account's latest callback, which lets the
        sync that follows it run without the platform's stricter rate limit."""
        return f"{self.prefix}:platform:{platform}:sync-token:{account}"

    def platform_account(self, conversation_id: str) -> str:
        """String with a TTL: the platform account a messaging-app customer wrote to (WeCom's
        open_kfid), needed to answer them, kept while they can be answered."""
        return f"{self.prefix}:conv:{conversation_id}:account"

    def welcome_code(self, conversation_id: str) -> str:
        """String with a TTL: the one-off code that lets a welcome reach a customer who only
        opened the chat (WeCom's welcome_code, valid 20 seconds)."""
        return f"{self.prefix}:conv:{conversation_id}:welcome-code"

    def reply_window(self, conversation_id: str) -> str:
        """Hash with a TTL: when the customer last wrote and how many messages went out since
        (platforms that limit what may be sent after a customer's message)."""
        return f"{self.prefix}:conv:{conversation_id}:window"

    def facts_turns(self, day: str) -> str:
        """List with a TTL: the turn facts (core/facts.py) of a day (YYYY-MM-DD, shop time)."""
        return f"{self.prefix}:facts:{day}:turns"

    def facts_contacts(self, day: str) -> str:
        """Hash with a TTL: contact id -> the contact fact, for contacts started that day."""
        return f"{self.prefix}:facts:{day}:contacts"

    def facts_tickets(self, day: str) -> str:
        """Hash with a TTL: ticket id -> the ticket fact, for tickets opened that day."""
        return f"{self.prefix}:facts:{day}:tickets"

    def turn_recorded(self, message_id: str) -> str:
        """String with a TTL: the turn of this customer message is in the facts."""
        return f"{self.prefix}:message:{message_id}:recorded"

    def live_contact(self, conversation_id: str) -> str:
        """Hash with a TTL: the conversation's contact in progress (start, customer, turns'
        intents, tickets), until it is recorded as a contact fact."""
        return f"{self.prefix}:conv:{conversation_id}:contact"

    @property
    def live_contacts(self) -> str:
        """Sorted set: conversation id -> last activity of its contact in progress."""
        return f"{self.prefix}:facts:live"

    def customer_contacts(self, customer: str) -> str:
        """Sorted set with a TTL: "<day> <contact id>" -> when that contact of the customer
        ended (a week of them, for re-contacts)."""
        return f"{self.prefix}:facts:customer:{customer}"

    @property
    def events(self) -> str:
        """Pub/sub channel: conversation and ticket events for the live pages."""
        return f"{self.prefix}:events"

    def verify_failures(self, conversation_id: str, order_id: str) -> str:
        """Counter with a TTL: wrong phone digits given for an order in this conversation."""
        return f"{self.prefix}:conv:{conversation_id}:verify:{order_id}:failures"

    def customer_conversation(self, customer_id: str) -> str:
        """String: the latest conversation of a customer identified by their channel."""
        return f"{self.prefix}:customer:{customer_id}:conv"

    def reminder_sent(self, order_id: str) -> str:
        """String: an unpaid-order reminder went out for this order (sent once)."""
        return f"{self.prefix}:reminder:{order_id}"

    def reminder_opt_out(self, customer_id: str) -> str:
        """String: the customer asked for no payment reminders."""
        return f"{self.prefix}:customer:{customer_id}:no-reminders"
