"""The contract: pydantic wire models shared by the client, the engine and the tools.

Request models reject unknown keys (AX bodies are strict); response models keep them (AX responses grow).
"""
