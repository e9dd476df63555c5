       >>SOURCE FORMAT IS FREE
*> PAYMENT - payment instruction, free-format copybook
01 PAYMENT-REC.
   05 PAY-REF            PIC X(12).
   05 PAY-DATE           PIC 9(6).               *> CYYDDD
   05 PAY-AMOUNT         PIC S9(11)V99 COMP-3.
   05 PAY-CURRENCY       PIC X(3) VALUE "GBP".
   05 PAY-METHOD         PIC X.
      88 PAY-BACS        VALUE "B".
      88 PAY-CHEQUE      VALUE "C".
   05 PAY-DETAIL         PIC X(20).
   05 PAY-BACS-DETAIL REDEFINES PAY-DETAIL.
      10 PAY-SORT-CODE   PIC 9(6).
      10 PAY-ACCOUNT     PIC 9(8).
      10 FILLER          PIC X(6).
   05 PAY-FEE            PIC S9(3)V99 COMP-3.
   05 PAY-PAYEE          PIC X(25).
   05 PAY-CHECK          PIC S9(4) COMP SYNC.
>>SOURCE FORMAT IS FIXED
