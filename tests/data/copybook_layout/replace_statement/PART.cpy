           05  :PFX:-NAME      PIC X(9).
