"""Messaging-app channels: WeChat Official Accounts, WeCom customer service and Telegram in
(one adapter per platform), and the durable outbox that carries everything said to their
customers out."""
