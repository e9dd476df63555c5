      * LIBADDR - an address block of the SHARED library (CLAIMLIB.cpy)
           05  :PFX:-LINE-1    PIC X(30).
           05  :PFX:-POSTCODE  PIC X(8).
