      * EDITGBP - sterling amounts for a UK report: the pound sign
      * floating and fixed (the program says CURRENCY SIGN IS "£").
       01  STERLING-REC.
           05  GBP-FLOAT       PIC ££££,££9.99CR.
           05  GBP-FIXED       PIC £ZZ,ZZ9.99-.
           05  GBP-STAR        PIC £***,**9.99.
