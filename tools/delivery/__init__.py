"""Customers who keep writing whatever fails (as the web chat page does), to check that every
accepted message is answered once and in order: the load benchmark and the chaos test."""
