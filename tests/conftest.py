"""
The plugin's own tests run small test suites with C{pytester}.
"""

pytest_plugins = ["pytester"]
