module tracelake.invalid/ui-web
