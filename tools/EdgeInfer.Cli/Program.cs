// Placeholder entry point until the CLI lands.
return 0;
