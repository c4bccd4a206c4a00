"""USSD over Africa's Talking: payloads, screens within the budget, menus and the per-hop session logic."""
