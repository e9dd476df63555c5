      * ADDRBLK - an address block; the including copybook names it
      * with REPLACING ==:PFX:== BY ==its-prefix==.
           05  :PFX:-ADDRESS.
               10  :PFX:-LINE-1    PIC X(30).
               10  :PFX:-LINE-2    PIC X(30).
               10  POSTCODE        PIC X(8).
